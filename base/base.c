/* SPDX-License-Identifier: MIT */
/* The clock, the thread id and the rotation of files every module uses. */
#define _GNU_SOURCE
#include "base/base.h"

#include <fcntl.h>
#include <stdio.h>
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

/* Rotate the files NAME (relative to the directory DIRFD, or AT_FDCWD):
 * NAME -> NAME.1 -> ... -> NAME.(COUNT-1), the oldest replaced; NAME is then
 * free for a new file. With COUNT 1 nothing moves (NAME is to be
 * replaced). rename() moves links, never what they point to. The capture
 * and the events log name their files alike. */
void base_shift_files(int dirfd, const char *name, unsigned count)
{
    char from[4200], to[4200];

    for (unsigned i = count - 1; i >= 1 && count > 0; i--) {
        if (i == 1)
            snprintf(from, sizeof(from), "%s", name);
        else
            snprintf(from, sizeof(from), "%s.%u", name, i - 1);
        snprintf(to, sizeof(to), "%s.%u", name, i);
        renameat(dirfd, from, dirfd, to); /* ENOENT for files not there yet is fine */
    }
}
