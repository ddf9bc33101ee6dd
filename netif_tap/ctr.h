/* SPDX-License-Identifier: MIT */
/* Statistics counters of the driver: relaxed atomics, bumped by one thread
 * or several, read by anyone. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

typedef atomic_uint_fast64_t counter_t;

static inline void ctr_add(counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t ctr_get(const counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}
