/* SPDX-License-Identifier: MIT */
/* Watchdog thread. lwIP's tcpip thread beats a heart from its timer
 * (stack_heartbeat()); when the beat stops for longer than the limit, every
 * lwIP thread is frozen and reported with its stack (crash/fatal.c). Under
 * systemd's WatchdogSec the same heartbeat feeds WATCHDOG=1, so a wedged
 * stack also stops the pings systemd waits for.
 *
 * A stall is measured in the watchdog's own observed time, not in wall
 * time: a tick that took far longer than it should means the watchdog did
 * not run either - the whole process was stopped (SIGSTOP, a debugger, a
 * cgroup freezer, a paused VM) - and that time says nothing about the
 * tcpip thread, so the watchdog re-arms instead of reporting. A real stall
 * adds up tick by tick and is reported once it reaches the limit. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "base/events.h"
#include "daemon/stack.h"
#include "crash/fatal.h"
#include "base/log.h"
#include "base/base.h"
#include "base/thread.h"

#define WATCHDOG_TICK_MS 100
#define WATCHDOG_GAP_MS  500 /* a longer tick: the process was stopped */

static struct {
    unsigned limit_ms;
    uint64_t sd_usec; /* systemd's WatchdogSec, 0: none */
} wd;

/* The longest tick that still counts (ns): longer, and the watchdog itself
 * was not running. At most half the limit, so no single gap reaches it. */
static uint64_t watchdog_gap_ns(void)
{
    uint64_t gap = (uint64_t)WATCHDOG_GAP_MS * 1000000u;

    if (wd.limit_ms && gap > (uint64_t)wd.limit_ms * 500000u)
        gap = (uint64_t)wd.limit_ms * 500000u;
    return gap;
}

static void *watchdog_thread(void *arg)
{
    uint64_t last_beat = stack_heartbeat(), last_sd = 0;
    uint64_t prev = base_now_ns(), stalled = 0; /* stalled: in observed time (ns) */
    const uint64_t gap = watchdog_gap_ns();
    struct timespec tick = {0, WATCHDOG_TICK_MS * 1000000L};

    (void)arg;
    thread_register_current("watchdog");
    for (;;) {
        nanosleep(&tick, NULL);
        if (fatal_happened())
            return NULL; /* an incident was reported: the stack is frozen on purpose */
        uint64_t beat = stack_heartbeat(), now = base_now_ns(), step = now - prev;

        prev = now;
        if (step > gap) {
            /* The whole process was stopped: re-arm, do not report. */
            log_info("watchdog", "resumed after %llu ms without running: not a stall",
                     (unsigned long long)(step / 1000000u));
            last_beat = beat;
            stalled = 0;
            continue;
        }
        if (beat != last_beat) {
            last_beat = beat;
            stalled = 0;
            /* systemd: ping at half its interval, only while the stack lives */
            if (wd.sd_usec && now - last_sd >= wd.sd_usec * 500u) {
                sd_notify(0, "WATCHDOG=1");
                last_sd = now;
            }
            continue;
        }
        stalled += step;
        if (wd.limit_ms && stalled >= (uint64_t)wd.limit_ms * 1000000u) {
            unsigned ms = (unsigned)(stalled / 1000000u);
            char msg[160];

            snprintf(msg, sizeof(msg), "tcpip thread made no progress for %u ms", ms);
            events_emit("watchdog", "\"stalled_ms\":%u", ms);
            fatal_watchdog(msg);
            return NULL;
        }
    }
}

/* Start watching (LIMIT_MS 0: no report, systemd pings only). 0 or -errno. */
int watchdog_start(unsigned limit_ms)
{
    pthread_t tid;
    int err;

    wd.limit_ms = limit_ms;
    if (sd_watchdog_enabled(0, &wd.sd_usec) <= 0)
        wd.sd_usec = 0;
    if (!limit_ms && !wd.sd_usec)
        return 0;
    err = pthread_create(&tid, NULL, watchdog_thread, NULL);
    if (err)
        return -err;
    pthread_detach(tid);
    return 0;
}
