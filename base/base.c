/* SPDX-License-Identifier: MIT */
/* The clock and the thread id every module uses. */
#define _GNU_SOURCE
#include "base/base.h"

#include <sys/syscall.h>
#include <unistd.h>

static __thread pid_t tls_tid;

/* The calling thread's kernel id, cached (glibc's gettid() is a syscall).
 * Async-signal-safe. */
pid_t base_gettid(void)
{
    if (tls_tid == 0)
        tls_tid = (pid_t)syscall(SYS_gettid);
    return tls_tid;
}

/* CLOCK_MONOTONIC in nanoseconds: durations, timeouts. */
uint64_t base_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return base_timespec_ns(&ts);
}

/* CLOCK_REALTIME in nanoseconds: the clock of the capture's frames, of the
 * events and of crash reports, so that they line up. */
uint64_t base_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return base_timespec_ns(&ts);
}

/* Fill TS with the absolute time MS milliseconds from now on CLOCK. */
void base_deadline_after_ms(struct timespec *ts, clockid_t clock, uint64_t ms)
{
    clock_gettime(clock, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= (long)BASE_NS_PER_SEC) {
        ts->tv_sec++;
        ts->tv_nsec -= (long)BASE_NS_PER_SEC;
    }
}
