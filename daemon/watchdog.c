/* SPDX-License-Identifier: MIT */
/* Watchdog thread. lwIP's tcpip thread beats a heart from its timer
 * (stack_heartbeat()); when the beat stops for longer than the limit, every
 * lwIP thread is frozen and reported with its stack (crash/fatal.c). Under
 * systemd's WatchdogSec the same heartbeat feeds WATCHDOG=1, so a wedged
 * stack also stops the pings systemd waits for. */
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

static struct {
    unsigned limit_ms;
    uint64_t sd_usec; /* systemd's WatchdogSec, 0: none */
} wd;

static void *watchdog_thread(void *arg)
{
    uint64_t last_beat = stack_heartbeat(), last_change = base_now_ns(), last_sd = 0;
    struct timespec tick = {0, WATCHDOG_TICK_MS * 1000000L};

    (void)arg;
    thread_register_current("watchdog");
    for (;;) {
        nanosleep(&tick, NULL);
        if (fatal_happened())
            return NULL; /* an incident was reported: the stack is frozen on purpose */
        uint64_t beat = stack_heartbeat(), now = base_now_ns();
        if (beat != last_beat) {
            last_beat = beat;
            last_change = now;
            /* systemd: ping at half its interval, only while the stack lives */
            if (wd.sd_usec && now - last_sd >= wd.sd_usec * 500u) {
                sd_notify(0, "WATCHDOG=1");
                last_sd = now;
            }
            continue;
        }
        if (wd.limit_ms && now - last_change >= (uint64_t)wd.limit_ms * 1000000u) {
            char msg[160];

            snprintf(msg, sizeof(msg), "tcpip thread made no progress for %u ms",
                     (unsigned)((now - last_change) / 1000000u));
            events_emit("watchdog", "\"stalled_ms\":%u",
                        (unsigned)((now - last_change) / 1000000u));
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
