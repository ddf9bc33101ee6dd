/* SPDX-License-Identifier: MIT */
/* A mutex that knows its owner: one futex word holding the owner's thread
 * id, so an ISR can tell "held by the context I interrupted" from "held by
 * another thread" and from "free". lwIP's sys_mutex_t is one of these
 * (port/sys_arch.c); the ISR rules around taking it are irq_mutex_lock()'s. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define MUTEX_NAME_LEN 64

struct mutex {
    atomic_uint word;          /* 0: free; else owner tid, | MUTEX_WAITERS if anyone sleeps */
    atomic_uint last;          /* tid of the latest owner (an IRQ aimed at the stack) */
    char name[MUTEX_NAME_LEN]; /* "mutex from mem_init": who created it */
};

void mutex_init(struct mutex *m, const char *name);
void mutex_acquire(struct mutex *m);
int mutex_release(struct mutex *m);
pid_t mutex_owner(struct mutex *const *mutex, bool last);
bool mutex_claim(struct mutex *const *mutex);
void mutex_unclaim(struct mutex *const *mutex);
bool mutex_held_by_me(struct mutex *const *mutex);
