/* SPDX-License-Identifier: MIT */
/* The daemon's life: open the TAP, capture and control socket, start lwIP,
 * announce readiness, run the event loop, stop cleanly. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "daemon/buildinfo.h"
#include "daemon/commands.h"
#include "daemon/control.h"
#include "daemon/notify.h"
#include "daemon/stack.h"
#include "netif_tap/netif_tap.h"
#include "port/fatal.h"
#include "port/irq.h"
#include "port/log.h"
#include "port/port.h"

#define CAPTURE_FLUSH_MS 250
#define STATUS_EVERY_S   5

struct daemon *the_daemon;

static void on_frame(void *arg, enum tap_dir dir, const struct iovec *iov, int iovcnt, size_t len)
{
    (void)dir;
    capture_frame(arg, iov, iovcnt, len);
}

static void on_fatal(const char *kind, const char *message)
{
    (void)kind, (void)message;
    if (the_daemon && the_daemon->capture)
        capture_flush_try(the_daemon->capture);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    if (sig == SIGHUP) {
        log_info("daemon", "SIGHUP: %s",
                 d->args->log_file ? "reopening the log" : "nothing to reopen");
        if (d->args->log_file && log_open_file(d->args->log_file) != 0)
            log_err("daemon", "cannot reopen %s", d->args->log_file);
        return;
    }
    log_info("daemon", "%s: stopping", strsignal((int)sig));
    daemon_request_stop(d, 0);
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;

    (void)fd, (void)what;
    if (d->capture)
        capture_flush(d->capture);
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    struct netif_tap_stats st;
    char buf[160];

    (void)fd, (void)what;
    netif_tap_get_stats(d->tap, &st);
    snprintf(buf, sizeof(buf), "link %s, rx %llu frames, tx %llu frames",
             st.link_up ? "up" : "down", (unsigned long long)st.rx_frames,
             (unsigned long long)st.tx_frames);
    notify_status(buf);
}

/* Stop the event loop; main() then exits with EXIT_CODE. */
void daemon_request_stop(struct daemon *d, int exit_code)
{
    d->exit_code = exit_code;
    event_base_loopexit(d->base, NULL);
}

static int exit_code_for_tap_error(int err)
{
    switch (err) {
    case -ENODEV:
    case -ENOENT:
        return LWIPD_EXIT_UNAVAILABLE;
    case -EPERM:
    case -EACCES:
        return LWIPD_EXIT_NOPERM;
    default:
        return LWIPD_EXIT_OSERR;
    }
}

static int open_tap(struct daemon *d)
{
    const struct args *a = d->args;
    struct netif_tap_config tc = {
        .ifname = a->tap,
        .create = a->create_tap,
        .mac_set = a->mac_set,
        .mtu = a->mtu,
        .tx_mode = a->tx_mode,
        .ring_size = a->ring_size,
        .txc_coalesce = a->txc_coalesce,
        .txc_free = a->txc_free,
        .irq_target = a->irq_target,
    };
    int err;

    memcpy(tc.mac, a->mac, sizeof(tc.mac));
    d->tap = netif_tap_new(&tc, &err);
    if (d->tap)
        return 0;
    if (err == -ENODEV)
        log_err("daemon",
                "TAP %s does not exist: create it (ip tuntap add dev %s mode tap) "
                "or pass --create-tap",
                a->tap, a->tap);
    else if (err == -EPERM || err == -EACCES)
        log_err("daemon", "TAP %s: %s (needs CAP_NET_ADMIN, or a TAP owned by this user)", a->tap,
                strerror(-err));
    else if (err == -EINVAL || err == -EBUSY)
        log_err("daemon", "TAP %s: %s (is it a TUN device, or attached to another process?)",
                a->tap, strerror(-err));
    else
        log_err("daemon", "TAP %s: %s", a->tap, strerror(-err));
    return exit_code_for_tap_error(err);
}

static int open_control(struct daemon *d)
{
    const char *path = d->args->control;
    int err;

    if (!path) {
        const char *rt = getenv("RUNTIME_DIRECTORY");
        if (rt && strchr(rt, ':'))
            rt = NULL; /* several directories: do not guess */
        snprintf(d->control_path, sizeof(d->control_path), "%s/%s.sock", rt ? rt : "/run/lwipd",
                 d->args->tap);
        if (!rt && mkdir("/run/lwipd", 0755) != 0 && errno != EEXIST) {
            log_err("daemon", "mkdir /run/lwipd: %s (use --control PATH)", strerror(errno));
            return LWIPD_EXIT_CANTCREAT;
        }
    } else {
        snprintf(d->control_path, sizeof(d->control_path), "%s", path);
    }
    d->control = control_new(d->base, d->control_path, 0600, commands_handle, d, &err);
    if (d->control)
        return 0;
    if (err == -EADDRINUSE) {
        log_err("daemon", "control socket %s is in use by a running lwipd", d->control_path);
        return LWIPD_EXIT_UNAVAILABLE;
    }
    log_err("daemon", "control socket %s: %s", d->control_path, strerror(-err));
    return LWIPD_EXIT_CANTCREAT;
}

static void ready_line(struct daemon *d, char *buf, size_t len)
{
    const struct netif_tap_config *tc = netif_tap_config(d->tap);
    char ip[INET_ADDRSTRLEN] = "dhcp";

    if (d->args->ip_set)
        inet_ntop(AF_INET, &d->args->ip, ip, sizeof(ip));
    snprintf(buf, len,
             "READY pid=%d tap=%s ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x control=%s pcap=%s "
             "lwip=%s",
             (int)getpid(), tc->ifname, ip, tc->mac[0], tc->mac[1], tc->mac[2], tc->mac[3],
             tc->mac[4], tc->mac[5], d->control_path, d->capture ? capture_path(d->capture) : "-",
             buildinfo_lwip_version());
}

/* Keep the daemon's signals for the main thread (the event loop): every
 * thread made from now on inherits this mask. The IRQ signals are aimed at
 * their target threads and are not touched. */
static void block_daemon_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int daemon_run(const struct args *a)
{
    struct daemon d = {.args = a, .exit_code = 0};
    struct event *sig_ev[3] = {NULL, NULL, NULL};
    struct event *flush_ev = NULL, *status_ev = NULL;
    struct timeval flush_tv = {0, CAPTURE_FLUSH_MS * 1000}, status_tv = {STATUS_EVERY_S, 0};
    struct stack_config sc = {
        .ip = a->ip,
        .mask = a->mask,
        .gw = a->gw,
        .dhcp = a->dhcp,
        .echo = a->echo,
        .lwiperf = a->lwiperf,
        .iperf3 = a->iperf3,
        .iperf3_port = a->iperf3_port,
    };
    const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    sigset_t set;
    char line[512];
    int rc;

    the_daemon = &d;
    d.start_ns = port_now_ns();
    port_thread_register_current("main");
    fatal_set_hook(on_fatal);
    irq_init(a->irq_policy);
    block_daemon_signals(&set);

    d.base = event_base_new();
    if (!d.base) {
        log_err("daemon", "event_base_new failed");
        rc = LWIPD_EXIT_OSERR;
        goto out;
    }
    rc = open_tap(&d);
    if (rc)
        goto out;
    if (a->pcap) {
        char err[256];
        d.capture = capture_open(a->pcap, a->pcap_snaplen, err, sizeof(err));
        if (!d.capture) {
            log_err("daemon", "--pcap %s: %s", a->pcap, err);
            rc = LWIPD_EXIT_CANTCREAT;
            goto out;
        }
        netif_tap_set_frame_cb(d.tap, on_frame, d.capture);
    }
    rc = open_control(&d);
    if (rc)
        goto out;
    if (stack_start(d.tap, &sc) != 0) {
        log_err("daemon", "lwIP did not come up");
        rc = LWIPD_EXIT_SOFTWARE;
        goto out;
    }

    for (int i = 0; i < 3; i++) {
        sig_ev[i] = evsignal_new(d.base, sigs[i], on_signal, &d);
        if (!sig_ev[i] || evsignal_add(sig_ev[i], NULL) != 0) {
            log_err("daemon", "cannot watch signal %d", sigs[i]);
            rc = LWIPD_EXIT_OSERR;
            goto out;
        }
    }
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    flush_ev = event_new(d.base, -1, EV_PERSIST, on_flush_timer, &d);
    status_ev = event_new(d.base, -1, EV_PERSIST, on_status_timer, &d);
    if (!flush_ev || !status_ev || event_add(flush_ev, &flush_tv) ||
        event_add(status_ev, &status_tv)) {
        log_err("daemon", "cannot arm timers");
        rc = LWIPD_EXIT_OSERR;
        goto out;
    }

    ready_line(&d, line, sizeof(line));
    log_info("daemon", "%s", line);
    notify_ready(a->ready_fd, line);

    event_base_dispatch(d.base);
    rc = d.exit_code;
    notify_stopping();
    log_info("daemon", "stopped");
out:
    if (d.tap)
        netif_tap_stop(d.tap); /* no more frames: the capture can be closed */
    if (d.capture) {
        capture_close(d.capture);
        d.capture = NULL;
    }
    control_free(d.control);
    for (int i = 0; i < 3; i++)
        if (sig_ev[i])
            event_free(sig_ev[i]);
    if (flush_ev)
        event_free(flush_ev);
    if (status_ev)
        event_free(status_ev);
    if (d.base)
        event_base_free(d.base);
    /* lwIP has no shutdown: its threads end with the process. */
    the_daemon = NULL;
    return rc;
}
