/* SPDX-License-Identifier: MIT */
/* The daemon's one instance, shared by the files of daemon/: the private
 * half of daemon.h (main() sees only daemon_run()). The control commands,
 * stats and the crash report's sections read it; they include this header,
 * not daemon.h, so no module of daemon/ includes daemon.c's. */
#pragma once

#include <event2/event.h>
#include <stdint.h>

#include "daemon/args.h"

struct netif_tap;
struct capture;
struct control;
struct link_flapper;
struct fault;
struct stats_log;

struct daemon {
    const struct args *args;
    struct event_base *base;
    struct netif_tap *tap;
    struct capture *capture;
    struct control *control;
    char control_path[108];
    char report_dir[400];
    /* --capture-dir (or --pcap's directory), where a control client's
     * `capture start NAME` writes; capture_dirfd -1: none, names refused. */
    char capture_dir[400];
    int capture_dirfd;
    uint64_t start_ns;
    uint64_t seed;
    struct link_flapper *flapper;
    struct fault *fault;
    struct stats_log *stats_log; /* --stats-log, or NULL */
    int exit_code;
    int tap_loss_fd; /* eventfd: the TAP went away (--exit-on-tap-loss) */
};

/* Stop the event loop; lwipd then exits with EXIT_CODE. */
static inline void daemon_request_stop(struct daemon *d, int exit_code)
{
    d->exit_code = exit_code;
    event_base_loopexit(d->base, NULL);
}
