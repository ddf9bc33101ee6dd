/* SPDX-License-Identifier: MIT */
/* What the daemon opens at start (daemon_run()'s open step): the TAP, the
 * control socket, the crash report directory, and the drop of privileges
 * once they are open. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/daemon_open.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/args.h"
#include "daemon/commands.h"
#include "daemon/control.h"
#include "daemon/daemon_priv.h"
#include "daemon/privs.h"
#include "netif_tap/netif_tap.h"
#include "base/log.h"

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

/* Why /dev/net/tun itself cannot be used, when that is why the TAP would
 * not open: 0 (the device is fine), or the exit code after logging why. */
static int check_tun_device(void)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    int err = errno;
    struct stat st;

    if (fd >= 0) {
        bool tun = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
                   minor(st.st_rdev) == 200;
        close(fd);
        if (tun)
            return 0;
        log_err("daemon", "/dev/net/tun is not the tun device (character 10,200): lwipd "
                          "cannot make a TAP through it");
        return LWIPD_EXIT_UNAVAILABLE;
    }
    if (err == EACCES || err == EPERM) {
        log_err("daemon",
                "/dev/net/tun: %s (lwipd needs to open it read-write: root, or a "
                "device mode that allows this user)",
                strerror(err));
        return LWIPD_EXIT_NOPERM;
    }
    log_err("daemon",
            "/dev/net/tun: %s: lwipd needs the tun driver (modprobe tun) and its "
            "device node (in a container: pass /dev/net/tun through)",
            strerror(err));
    return LWIPD_EXIT_UNAVAILABLE;
}

/* Open the TAP as the options say (d->tap). 0, or the exit code after
 * logging why. */
int daemon_open_tap(struct daemon *d)
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
        .txc_coalesce_us = a->txc_coalesce_us,
        .txc_delay_us = a->txc_delay_us,
        .txc_jitter_us = a->txc_jitter_us,
        .txc_free = a->txc_free,
        .driver_bugs = a->driver_bugs,
        .irq_target = a->irq_target,
        .rt_priority = a->driver_priority,
    };
    int err;

    memcpy(tc.mac, a->mac, sizeof(tc.mac));
    d->tap = netif_tap_new(&tc);
    if (d->tap)
        return 0;
    err = -errno;
    if (err != -ENODEV || a->create_tap) { /* a missing TAP is found before the device opens */
        int code = check_tun_device();

        if (code)
            return code;
    }
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

/* Create the control socket (d->control, d->control_path) with its mode and
 * owners. 0, or the exit code after logging why. */
int daemon_open_control(struct daemon *d)
{
    const char *path = d->args->control;
    char err[200];

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
    mode_t mode = d->args->control_mode_set ? d->args->control_mode
                  : d->args->control_group  ? 0660
                                            : 0600;
    d->control = control_new(d->base, d->control_path, mode, commands_handle, d, err, sizeof(err));
    if (d->control) {
        const struct args *a = d->args;

        if ((a->control_owner || a->control_group) &&
            chown(d->control_path, a->control_owner ? a->control_uid : (uid_t)-1,
                  a->control_group ? a->control_gid : (gid_t)-1) != 0) {
            log_err("daemon", "control socket %s: chown: %s", d->control_path, strerror(errno));
            return errno == EPERM ? LWIPD_EXIT_NOPERM : LWIPD_EXIT_CANTCREAT;
        }
        if (a->control_owner || a->control_group)
            control_set_owner(d->control, a->control_owner ? a->control_uid : (uid_t)-1,
                              a->control_group ? a->control_gid : (gid_t)-1);
        if (a->control_group)
            control_set_group(d->control, a->control_gid);
        control_set_idle(d->control, a->control_idle_s);
        return 0;
    }
    log_err("daemon", "%s", err);
    return errno == EADDRINUSE ? LWIPD_EXIT_UNAVAILABLE : LWIPD_EXIT_CANTCREAT;
}

/* --user/--group: hand over the files lwipd reopens later, then drop. 0, or
 * the exit code after logging why. */
int daemon_open_drop_privileges(struct daemon *d)
{
    const struct args *a = d->args;
    uid_t uid = a->user ? a->uid : getuid();
    gid_t gid = a->group ? a->gid : a->user ? a->user_gid : getgid();
    const char *files[] = {a->log_file, a->pcap, a->events};
    int err;

    if (!a->user && !a->group)
        return 0;
    if (geteuid() == 0 &&
        privs_chown_files(files, (int)(sizeof(files) / sizeof(files[0])), uid, gid) != 0)
        return LWIPD_EXIT_CANTCREAT;
    /* The socket belongs to the daemon's user unless told otherwise, so that
     * it can remove it at exit (in a sticky directory such as /tmp). */
    if (geteuid() == 0 && !a->control_owner &&
        chown(d->control_path, uid, a->control_group ? (gid_t)-1 : gid) != 0) {
        log_err("daemon", "control socket %s: chown: %s", d->control_path, strerror(errno));
        return LWIPD_EXIT_CANTCREAT;
    }
    err = privs_drop(a->user, uid, gid);
    if (err) {
        log_err("daemon", "cannot become uid %u gid %u: %s%s", (unsigned)uid, (unsigned)gid,
                strerror(-err), err == -EPERM ? " (--user/--group need root)" : "");
        return LWIPD_EXIT_NOPERM;
    }
    return 0;
}

/* --report-dir, else $LOGS_DIRECTORY (systemd), the capture's directory,
 * or /tmp. */
void daemon_open_report_dir(struct daemon *d)
{
    const char *a = d->args->report_dir;
    const char *logs = getenv("LOGS_DIRECTORY");
    char buf[400];

    if (!a && logs && !strchr(logs, ':'))
        a = logs;
    if (!a && d->args->pcap) {
        snprintf(buf, sizeof(buf), "%s", d->args->pcap);
        a = dirname(buf);
    }
    snprintf(d->report_dir, sizeof(d->report_dir), "%s", a ? a : "/tmp");
}

/* --capture-dir, else the directory of --pcap: opened now (d->capture_dirfd,
 * d->capture_dir), before privileges are dropped, for the names control
 * clients give `capture start`. Without either, no directory: names are
 * refused. 0, or the exit code after logging why (only a --capture-dir
 * that cannot be opened is an error). */
int daemon_open_capture_dir(struct daemon *d)
{
    const char *dir = d->args->capture_dir;
    char buf[400];

    d->capture_dirfd = -1;
    if (!dir && d->args->pcap) {
        snprintf(buf, sizeof(buf), "%s", d->args->pcap);
        dir = dirname(buf);
    }
    if (!dir)
        return 0;
    snprintf(d->capture_dir, sizeof(d->capture_dir), "%s", dir);
    d->capture_dirfd = open(d->capture_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->capture_dirfd >= 0)
        return 0;
    if (d->args->capture_dir) {
        log_err("daemon", "--capture-dir %s: %s", d->capture_dir, strerror(errno));
        return LWIPD_EXIT_CANTCREAT;
    }
    log_warn("daemon", "%s: %s: control clients cannot name capture files", d->capture_dir,
             strerror(errno));
    return 0;
}
