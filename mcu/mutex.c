/* SPDX-License-Identifier: MIT */
/* The owner-word mutex (see mutex.h). Ownership is taken by one atomic
 * compare-and-swap, so at any instant the word says who holds it; sleepers
 * wait on the word with a futex. Async-signal-safe where noted. */
#define _GNU_SOURCE
#include "mcu/mutex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"

#define MUTEX_WAITERS 0x80000000u

static long futex(atomic_uint *addr, int op, unsigned val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* A free mutex named NAME (shown in ISR violation reports). */
void mutex_init(struct mutex *m, const char *name)
{
    atomic_store(&m->word, 0);
    atomic_store(&m->last, 0);
    snprintf(m->name, sizeof(m->name), "%s", name ? name : "mutex");
}

/* Take M, sleeping while another thread holds it; the caller becomes its
 * "last" owner too. The caller must not hold it already. */
void mutex_acquire(struct mutex *m)
{
    unsigned self = (unsigned)base_gettid();
    unsigned c = 0;

    if (atomic_compare_exchange_strong(&m->word, &c, self))
        goto out;
    for (;;) {
        if (c == 0) {
            /* Someone may still sleep: keep the waiters bit when taking it. */
            if (atomic_compare_exchange_strong(&m->word, &c, self | MUTEX_WAITERS))
                goto out;
            continue;
        }
        if (!(c & MUTEX_WAITERS)) {
            if (!atomic_compare_exchange_strong(&m->word, &c, c | MUTEX_WAITERS))
                continue;
            c |= MUTEX_WAITERS;
        }
        futex(&m->word, FUTEX_WAIT_PRIVATE, c); /* EINTR, EAGAIN: look again */
        c = atomic_load(&m->word);
    }
out:
    atomic_store_explicit(&m->last, self, memory_order_relaxed);
}

/* Give M back and wake one sleeper. Returns 0, or -EPERM (M untouched) when
 * the caller does not hold it. */
int mutex_release(struct mutex *m)
{
    if ((atomic_load(&m->word) & ~MUTEX_WAITERS) != (unsigned)base_gettid())
        return -EPERM;
    if (atomic_exchange(&m->word, 0) & MUTEX_WAITERS)
        futex(&m->word, FUTEX_WAKE_PRIVATE, 1);
    return 0;
}

/* The thread id holding *MUTEX, 0 when free (or MUTEX/ *MUTEX NULL); with
 * LAST, the latest owner when free. Async-signal-safe. */
pid_t mutex_owner(struct mutex *const *mutex, bool last)
{
    const struct mutex *m = mutex ? *mutex : NULL;
    pid_t tid = m ? (pid_t)(atomic_load(&m->word) & ~MUTEX_WAITERS) : 0;

    if (tid == 0 && last && m)
        tid = (pid_t)atomic_load_explicit(&m->last, memory_order_relaxed);
    return tid;
}

/* Signal handlers (an ISR following the core lock, irq_line_follow_lock):
 * take *MUTEX if it is free, without waiting and without becoming its
 * "last" owner. True when taken. Async-signal-safe. */
bool mutex_claim(struct mutex *const *mutex)
{
    unsigned c = 0;

    return atomic_compare_exchange_strong(&(*mutex)->word, &c, (unsigned)base_gettid());
}

/* Give back what mutex_claim() took. Async-signal-safe. */
void mutex_unclaim(struct mutex *const *mutex)
{
    if (atomic_exchange(&(*mutex)->word, 0) & MUTEX_WAITERS)
        futex(&(*mutex)->word, FUTEX_WAKE_PRIVATE, 1);
}

/* True when the calling thread holds *MUTEX (false for an invalid mutex). */
bool mutex_held_by_me(struct mutex *const *mutex)
{
    return mutex && *mutex &&
           (atomic_load(&(*mutex)->word) & ~MUTEX_WAITERS) == (unsigned)base_gettid();
}
