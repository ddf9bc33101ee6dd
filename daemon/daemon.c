/* SPDX-License-Identifier: MIT */
/* The daemon's life: open the TAP, capture and control socket, start lwIP,
 * announce readiness, run the event loop, stop cleanly. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/daemon.h"
#include "daemon/daemon_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "capture/capture.h"
#include "base/events.h"
#include "daemon/buildinfo.h"
#include "daemon/control.h"
#include "daemon/commands.h"
#include "daemon/crash.h"
#include "daemon/daemon_open.h"
#include "daemon/notify.h"
#include "daemon/reload.h"
#include "daemon/app.h"
#include "daemon/stack.h"
#include "daemon/stats_log.h"
#include "daemon/watchdog.h"
#include "fault_inject/fault.h"
#include "fault_inject/link.h"
#include "fault_inject/prng.h"
#include "diag/leaks.h"
#include "netif_tap/netif_tap.h"
#include "crash/fatal.h"
#include "mcu/irq.h"
#include "base/log.h"
#include "mcu/rtos_heap.h"
#include "base/base.h"
#include "base/thread.h"

#define CAPTURE_FLUSH_MS 100 /* a SIGKILL loses at most this much */
#define STATUS_EVERY_S   5

static void on_frame(void *arg, enum tap_dir dir, const struct iovec *iov, int iovcnt, size_t len,
                     uint64_t ts_ns, struct capture_note *note)
{
    capture_frame(arg, dir == TAP_DIR_RX ? CAPTURE_IN : CAPTURE_OUT, iov, iovcnt, len, ts_ns, note);
}

/* An ISR rule break, from inside the ISR: under --irq-policy detect an
 * incident (does not return); tolerated (rtos/posix), an event: no
 * formatting functions, only the lock-free event ring. */
static void on_violation(void *arg, enum irq_violation_kind kind, const char *primitive,
                         const char *object)
{
    fatal_on_irq_violation(arg, kind, primitive, object);
    char text[EVENTS_TEXT_LEN];
    size_t n = 0;
    const char *parts[] = {"\"rule\":\"",
                           irq_violation_kind_name(kind),
                           "\",\"primitive\":\"",
                           primitive,
                           "\",\"object\":\"",
                           object ? object : "?",
                           "\""};

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        for (const char *c = parts[i]; *c && n + 1 < sizeof(text); c++)
            text[n++] = *c;
    text[n] = '\0';
    events_emit_raw("irq-violation", text);
}

static void on_link(void *arg, bool up)
{
    (void)arg;
    events_emit("link", "\"state\":\"%s\"", up ? "up" : "down");
}

/* RX thread: the TAP went away or came back. With --exit-on-tap-loss the
 * main loop is woken to stop (the driver's RX thread ends). */
static bool on_tap_loss(void *arg, bool lost)
{
    struct daemon *d = arg;
    uint64_t one = 1;

    events_emit("tap", "\"state\":\"%s\"", lost ? "lost" : "back");
    if (!lost || !d->args->exit_on_tap_loss)
        return false;
    if (write(d->tap_loss_fd, &one, sizeof(one)) < 0)
        log_err("daemon", "cannot wake the main loop: %s", strerror(errno));
    return true;
}

static void on_tap_loss_wake(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof(n)) < 0)
        return;
    log_err("daemon", "TAP %s went away: stopping (--exit-on-tap-loss)", d->args->tap);
    daemon_request_stop(d, LWIPD_EXIT_IOERR);
}

static int flap_set_link(void *arg, bool up)
{
    (void)arg;
    /* After a fault (--fatal-action hold) lwIP's threads are frozen: each
     * edge would block the event loop, and the control socket, 2 s. */
    if (fatal_happened())
        return -ECANCELED;
    return stack_set_link(up, 2000);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    if (sig == SIGHUP) {
        daemon_reload(d);
        return;
    }
    log_info("daemon", "%s: stopping", strsignal((int)sig));
    daemon_request_stop(d, 0);
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;

    (void)fd, (void)what;
    if (fatal_happened())
        return; /* frozen threads may hold the writers' locks */
    if (d->capture)
        capture_flush(d->capture);
    events_flush();
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

/* The leak baseline is taken at ready, once the TX ring has sent what the
 * bring-up queued (the gratuitous ARP), so that nothing in flight is in it. */
static void take_leak_baseline(struct daemon *d)
{
    struct netif_tap_stats st;

    for (int i = 0; i < 100; i++) {
        netif_tap_get_stats(d->tap, &st);
        if (st.ring_used == 0)
            break;
        usleep(10000);
    }
    if (stack_call(leaks_baseline_in_tcpip, NULL, 0, 5000) != 0)
        log_warn("daemon", "no leak baseline: the tcpip thread did not answer");
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

static void pin_thread(void *arg, const struct thread_info *t)
{
    pthread_setaffinity_np(t->tid, sizeof(cpu_set_t), arg);
}

/* --single-core: pin this thread, every thread made after it and those made
 * before (the crash reporter's), to the lowest CPU we may run on, so threads
 * interleave as on a single-core MCU. */
static int pin_single_core(void)
{
    cpu_set_t set;
    pthread_t reporter;
    int cpu;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -errno;
    for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
        ;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        return -errno;
    thread_foreach(pin_thread, &set);
    if (fatal_reporter_thread(&reporter)) /* perhaps not registered yet */
        pthread_setaffinity_np(reporter, sizeof(set), &set);
    log_info("daemon", "--single-core: every thread on CPU %d", cpu);
    return cpu;
}

/* --check-config: on top of what args_parse() checked, what can be checked
 * without touching the system (the fault file, the capture filter); then the
 * effective configuration on OUT. LWIPD_EXIT_OK or LWIPD_EXIT_USAGE (the
 * reason on stderr). */
int daemon_check_config(const struct args *a, FILE *out)
{
    char err[512];

    if (a->pcap_filter) {
        struct capture *c = capture_new(a->pcap_snaplen, a->pcap_filter, err, sizeof(err));
        if (!c) {
            fprintf(stderr, "lwipd: --pcap-filter: %s\n", err);
            return LWIPD_EXIT_USAGE;
        }
        capture_close(c);
    }
    if (a->fault_file) {
        struct fault *f = fault_new(0);
        int n = f ? fault_load_file(f, a->fault_file, err, sizeof(err)) : -ENOMEM;

        fault_free(f);
        if (n < 0) {
            fprintf(stderr, "lwipd: --fault-file: %s\n", f ? err : "out of memory");
            return LWIPD_EXIT_USAGE;
        }
    }
    args_print_config(a, out);
    return LWIPD_EXIT_OK;
}

/* daemon_run()'s state besides the daemon: what the event loop watches. */
struct run {
    struct daemon d;
    struct event *sig_ev[3];
    struct event *flush_ev, *status_ev, *loss_ev;
    sigset_t sigs; /* the daemon's signals, blocked until their events exist */
};

static const int run_signals[3] = {SIGTERM, SIGINT, SIGHUP};

/* The process-wide set-up: crash reporter, IRQ controller, events log,
 * signal mask, CPU pinning, seed. 0 or the exit code. */
static int open_process(struct run *r)
{
    struct daemon *d = &r->d;
    const struct args *a = d->args;

    d->start_ns = base_now_ns();
    thread_register_current("main");
    daemon_open_report_dir(d);
    d->seed = a->seed_set ? a->seed : prng_random_seed();
    crash_init(d, base_gettid());
    irq_init(a->irq_policy);
    irq_set_violation_hook(on_violation, NULL);
    rtos_heap_set_fault_hook(fatal_on_fault, NULL);
    events_init();
    block_daemon_signals(&r->sigs);
    if (a->single_core && pin_single_core() < 0) {
        log_err("daemon", "--single-core: %s", strerror(errno));
        return LWIPD_EXIT_OSERR;
    }
    if (a->events) {
        int e = events_open(a->events);

        events_set_rotation(a->events_rotate_bytes, a->events_rotate_count);
        if (e) {
            log_err("daemon", "--events %s: %s", a->events, strerror(-e));
            return LWIPD_EXIT_CANTCREAT;
        }
    }
    events_emit("seed", "\"seed\":\"%llu\"", (unsigned long long)d->seed);
    log_info("daemon", "seed %llu%s", (unsigned long long)d->seed,
             a->seed_set ? "" : " (random; repeat this run with --seed)");
    return 0;
}

/* The fault injector and its rules (--fault, --fault-file). A bad rule is a
 * usage error, whatever the TAP's state: this runs before the TAP opens. */
static int open_faults(struct daemon *d)
{
    const struct args *a = d->args;
    char err[512];

    d->fault = fault_new(d->seed);
    if (!d->fault) {
        log_err("daemon", "cannot create the fault injector: out of memory");
        return LWIPD_EXIT_OSERR;
    }
    for (int i = 0; i < a->nfaults; i++) {
        if (fault_add(d->fault, a->faults[i], err, sizeof(err)) < 0) {
            log_err("daemon", "--fault '%s': %s", a->faults[i], err);
            return LWIPD_EXIT_USAGE;
        }
    }
    if (a->fault_file && fault_load_file(d->fault, a->fault_file, err, sizeof(err)) < 0) {
        log_err("daemon", "--fault-file: %s", err);
        return LWIPD_EXIT_USAGE;
    }
    return 0;
}

/* The capture, always there so that `lwipctl capture start` works without
 * --pcap, fed by the driver. */
static int open_capture(struct daemon *d)
{
    const struct args *a = d->args;
    char err[256];
    int rc = daemon_open_capture_dir(d);

    if (rc != 0)
        return rc;
    d->capture = capture_new(a->pcap_snaplen, a->pcap_filter, err, sizeof(err));
    if (!d->capture && errno == ENOMEM) { /* not the user's filter: the system */
        log_err("daemon", "capture: %s", err);
        return LWIPD_EXIT_OSERR;
    }
    if (!d->capture) {
        log_err("daemon", "--pcap-filter: %s", err);
        return LWIPD_EXIT_USAGE;
    }
    capture_set_rotation(d->capture, a->pcap_rotate_bytes, a->pcap_rotate_count);
    capture_set_format(d->capture, a->pcap_format);
    if (a->pcap && capture_start(d->capture, a->pcap, err, sizeof(err)) != 0) {
        log_err("daemon", "--pcap %s: %s", a->pcap, err);
        return LWIPD_EXIT_CANTCREAT;
    }
    netif_tap_set_frame_cb(d->tap, on_frame, d->capture);
    return 0;
}

/* The driver's hooks: faults, link edges, and the TAP going away (an eventfd
 * wakes the loop from the RX thread). */
static int hook_driver(struct run *r)
{
    struct daemon *d = &r->d;

    netif_tap_set_faults(d->tap, d->fault);
    netif_tap_set_link_cb(d->tap, on_link, NULL);
    d->tap_loss_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->loss_ev = d->tap_loss_fd >= 0
                     ? event_new(d->base, d->tap_loss_fd, EV_READ | EV_PERSIST, on_tap_loss_wake, d)
                     : NULL;
    if (!r->loss_ev || event_add(r->loss_ev, NULL) != 0) {
        log_err("daemon", "cannot watch for the TAP going away");
        return LWIPD_EXIT_OSERR;
    }
    netif_tap_set_loss_cb(d->tap, on_tap_loss, d);
    return 0;
}

/* Open step: everything lwipd holds, in dependency order, then lwIP, then
 * the privileges dropped. 0 or the exit code (logged). */
static int run_open(struct run *r)
{
    struct daemon *d = &r->d;
    const struct args *a = d->args;
    struct stack_config sc = {
        .ip = a->ip,
        .mask = a->mask,
        .gw = a->gw,
        .dhcp = a->dhcp,
        .echo = a->echo,
        .echo_idle_s = a->echo_idle_s,
        .lwiperf = a->lwiperf,
        .churn = a->churn,
        .churn_cfg = a->churn_cfg,
        .iperf3 = a->iperf3,
        .iperf3_port = a->iperf3_port,
        .igmp_join = a->igmp_join,
        .nigmp_join = a->nigmp_join,
        .lwip_apps = a->lwip_apps,
        .on_netif_up = app_start_hook,
        .on_netif_up_arg = (void *)&a->app_required,
    };
    int rc;

    if ((rc = open_process(r)) != 0)
        return rc;
    d->base = event_base_new();
    if (!d->base) {
        log_err("daemon", "event_base_new failed");
        return LWIPD_EXIT_OSERR;
    }
    if ((rc = open_faults(d)) != 0 || (rc = daemon_open_tap(d)) != 0 ||
        (rc = open_capture(d)) != 0 || (rc = hook_driver(r)) != 0 ||
        (rc = daemon_open_control(d)) != 0)
        return rc;
    if (a->stats_log && !(d->stats_log = stats_log_new(d, a->stats_log, a->stats_interval_ms)))
        return errno == ENOMEM ? LWIPD_EXIT_OSERR : LWIPD_EXIT_CANTCREAT;
    if ((rc = app_load_startup(a->apps, a->napps)) != 0) /* 64: a module refused */
        return rc == -ENOMEM ? LWIPD_EXIT_OSERR : LWIPD_EXIT_USAGE;
    /* lwIP's threads start before the drop: the driver's DMA thread takes
     * its real-time priority (--driver-priority) as it starts, which an
     * unprivileged process may not; setuid() then applies to every thread. */
    rc = stack_start(d->tap, &sc);
    if (rc != 0) {
        /* -ESRCH: --irq-target names no lwIP thread (known only now);
         * -EAGAIN, -ENOMEM: a thread or memory limit (ulimit, cgroup) */
        if (rc == -ECANCELED)
            return LWIPD_EXIT_APP_START;
        log_err("daemon", "lwIP did not come up");
        if (rc == -ESRCH)
            return LWIPD_EXIT_USAGE;
        return rc == -EAGAIN || rc == -ENOMEM ? LWIPD_EXIT_OSERR : LWIPD_EXIT_SOFTWARE;
    }
    return daemon_open_drop_privileges(d);
}

/* Arm step: signals and timers on the loop, the leak baseline, the link
 * flapper, the watchdog. 0 or the exit code (logged). */
static int run_arm(struct run *r)
{
    struct daemon *d = &r->d;
    const struct args *a = d->args;
    struct timeval flush_tv = {0, CAPTURE_FLUSH_MS * 1000}, status_tv = {STATUS_EVERY_S, 0};

    for (int i = 0; i < 3; i++) {
        r->sig_ev[i] = evsignal_new(d->base, run_signals[i], on_signal, d);
        if (!r->sig_ev[i] || evsignal_add(r->sig_ev[i], NULL) != 0) {
            log_err("daemon", "cannot watch signal %d", run_signals[i]);
            return LWIPD_EXIT_OSERR;
        }
    }
    pthread_sigmask(SIG_UNBLOCK, &r->sigs, NULL);
    r->flush_ev = event_new(d->base, -1, EV_PERSIST, on_flush_timer, d);
    r->status_ev = event_new(d->base, -1, EV_PERSIST, on_status_timer, d);
    if (!r->flush_ev || !r->status_ev || event_add(r->flush_ev, &flush_tv) ||
        event_add(r->status_ev, &status_tv)) {
        log_err("daemon", "cannot arm timers");
        return LWIPD_EXIT_OSERR;
    }
    take_leak_baseline(d);
    /* alloc rules act from here on: lwIP came up and its apps listen */
    fault_arm_alloc(d->fault);
    if (a->link_flap_set) {
        d->flapper = link_flapper_start(d->base, &a->link_flap, d->seed, flap_set_link, NULL);
        if (!d->flapper) {
            log_err("daemon", "--link-flap: cannot start the link flapper");
            return LWIPD_EXIT_OSERR;
        }
    }
    if (watchdog_start(a->watchdog_ms) != 0) {
        log_err("daemon", "cannot start the watchdog");
        return LWIPD_EXIT_OSERR;
    }
    return 0;
}

/* Run step: announce readiness, run the loop until a stop is asked for.
 * Returns the exit code asked for. */
static int run_loop(struct run *r)
{
    char line[512];

    ready_line(&r->d, line, sizeof(line));
    log_info("daemon", "%s", line);
    notify_ready(r->d.args->ready_fd, line);
    event_base_dispatch(r->d.base);
    notify_stopping();
    if (!fatal_happened()) {
        stats_log_write(r->d.stats_log); /* the final record */
        /* Streaming commands (events --follow) get their answer; one more
         * turn of the loop hands it to the control socket, which then
         * pushes it out to the clients as it closes. */
        if (commands_stop() > 0)
            event_base_loop(r->d.base, EVLOOP_NONBLOCK);
    }
    return r->d.exit_code;
}

/* Close step: release what the open and arm steps made, in reverse order,
 * whatever step failed. lwIP has no shutdown: its threads end with the
 * process. */
static void run_close(struct run *r)
{
    struct daemon *d = &r->d;

    app_unload_all(); /* stop() in the tcpip thread, which still runs */
    if (d->tap) {
        netif_tap_stop(d->tap); /* no more frames: the capture can be closed */
        netif_tap_set_faults(d->tap, NULL);
    }
    fault_free(d->fault); /* after the driver: its delay line feeds the driver */
    if (d->capture) {
        capture_close(d->capture);
        d->capture = NULL;
    }
    if (d->capture_dirfd >= 0)
        close(d->capture_dirfd);
    link_flapper_free(d->flapper);
    stats_log_free(d->stats_log);
    d->stats_log = NULL;
    events_close();
    control_free(d->control);
    for (int i = 0; i < 3; i++)
        if (r->sig_ev[i])
            event_free(r->sig_ev[i]);
    if (r->flush_ev)
        event_free(r->flush_ev);
    if (r->status_ev)
        event_free(r->status_ev);
    if (r->loss_ev)
        event_free(r->loss_ev);
    if (d->tap_loss_fd >= 0)
        close(d->tap_loss_fd);
    if (d->base)
        event_base_free(d->base);
}

/* Run lwipd with the options A until it is stopped: open, arm, run, close.
 * Returns the process's exit code (LWIPD_EXIT_*). */
int daemon_run(const struct args *a)
{
    struct run r = {.d = {.args = a, .exit_code = 0, .tap_loss_fd = -1, .capture_dirfd = -1}};
    int rc;

    rc = run_open(&r);
    if (rc == 0)
        rc = run_arm(&r);
    if (rc == 0) {
        rc = run_loop(&r);
        if (fatal_happened()) {
            /* --fatal-action hold: lwIP's threads are frozen, possibly
             * holding locks; joining or flushing them would hang. Leave as
             * found. */
            log_info("daemon", "stopped after a fault (report %s)",
                     crash_report_path() ? crash_report_path() : "not written");
            control_free(r.d.control);
            return LWIPD_EXIT_FAULT;
        }
        log_info("daemon", "stopped");
    }
    run_close(&r);
    crash_report_stop(); /* the sections' D goes away */
    return rc;
}
