/* SPDX-License-Identifier: MIT */
/* lwipd's base: the clock, thread ids and the rules every module follows.
 *
 * Error returns (the whole tree):
 * - a function that can fail returns int: 0, or -errno (-EINVAL, -ENOMEM, ...);
 * - a constructor (foo_new(), foo_open()) returns the object, or NULL after
 *   filling an errbuf (char *errbuf, size_t len) or logging why;
 * - an lwIP callback returns the err_t lwIP expects (ERR_OK, ERR_MEM, ...).
 *
 * The layers, each using only those above it in this list:
 *   base/ -> mcu/ -> crash/ -> port/ -> the rest (see meson.build).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define BASE_NS_PER_SEC 1000000000u

/* TS as nanoseconds. */
static inline uint64_t base_timespec_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * BASE_NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

pid_t base_gettid(void);
uint64_t base_now_ns(void);
uint64_t base_realtime_ns(void);
void base_deadline_after_ms(struct timespec *ts, clockid_t clock, uint64_t ms);
void base_shift_files(int dirfd, const char *name, unsigned count);
