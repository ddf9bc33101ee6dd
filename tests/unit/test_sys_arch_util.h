/* SPDX-License-Identifier: MIT */
/* What test_sys_arch.c and test_sys_arch_isr.c share: bounded waits. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "base/base.h"

static inline uint64_t now_ms(void)
{
    return base_now_ns() / 1000000u;
}

/* Wait until *FLAG >= VALUE; false after 2 s. */
static inline bool wait_flag(atomic_int *flag, int value)
{
    for (int i = 0; i < 2000; i++) { /* bounded: up to 2 s */
        if (atomic_load(flag) >= value)
            return true;
        usleep(1000);
    }
    return false;
}
