/* SPDX-License-Identifier: MIT */
/* Freezing the other threads for a report: the reporter sends each
 * registered thread FREEZE_SIGNAL, whose handler records that thread's stack
 * and sleeps with every signal blocked. A thread inside a
 * fatal_defer_begin()/fatal_defer_end() stretch (the capture writer) is
 * frozen when it leaves it; a thread in an ISR is frozen at once (see the
 * design note in fatal.c). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "crash/fatal_priv.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/thread.h"
#include "mcu/irq.h"

#define FREEZE_SIGNAL  (SIGRTMIN + 12)
#define FREEZE_WAIT_MS 1000

static struct {
    struct fatal_incident *_Atomic inc; /* where frozen threads record their stacks */
    atomic_int acks;                    /* threads frozen so far */
} frz;

static __thread volatile sig_atomic_t tls_defer;      /* fatal_defer_begin() depth */
static __thread volatile sig_atomic_t tls_freeze_due; /* a freeze arrived inside it */

/* Sleep forever with every signal blocked: a frozen thread. Async-signal-safe. */
void fatal_freeze_self(void)
{
    sigset_t all;

    sigfillset(&all);
    for (;;)
        sigsuspend(&all);
}

/* Record this thread's stack in the slot the reporter reserved for it
 * (found by thread id), tell the reporter, freeze. */
static void __attribute__((noreturn)) freeze_current(void)
{
    pid_t me = base_gettid();

    struct fatal_incident *inc = frz.inc;

    for (int i = 0; inc && i < FATAL_MAX_THREADS; i++) {
        if (inc->threads[i].lwp == me && !inc->threads[i].valid) {
            fatal_stack_capture(&inc->threads[i], 0);
            break;
        }
    }
    atomic_fetch_add(&frz.acks, 1);
    fatal_freeze_self();
}

static void freeze_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    if (tls_defer > 0 && !irq_in_isr()) {
        tls_freeze_due = 1; /* fatal_defer_end() freezes */
        return;
    }
    freeze_current();
}

/* Mark a stretch this thread must not be frozen in because it holds a lock
 * the reporter takes (the capture writer's): a freeze that arrives inside
 * is carried out by the matching fatal_defer_end(). Not inside an ISR (see
 * the design note). Nests; async-signal-safe; costs two TLS writes. */
void fatal_defer_begin(void)
{
    tls_defer = tls_defer + 1;
    atomic_signal_fence(memory_order_seq_cst);
}

/* End of a fatal_defer_begin() stretch: freezes here if a freeze came in. */
void fatal_defer_end(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    tls_defer = tls_defer - 1;
    atomic_signal_fence(memory_order_seq_cst);
    if (tls_defer == 0 && tls_freeze_due) {
        tls_freeze_due = 0;
        freeze_current();
    }
}

struct freeze_walk {
    struct fatal_incident *inc;
    const pid_t *skip;
    int nskip;
    int n;
};

static void collect_thread(void *arg, const struct thread_info *t)
{
    struct freeze_walk *w = arg;
    struct fatal_stack *st;

    for (int i = 0; i < w->nskip; i++)
        if (t->lwp == w->skip[i])
            return;
    if (w->n >= FATAL_MAX_THREADS)
        return;
    st = &w->inc->threads[w->n++];
    st->lwp = t->lwp;
    fatal_copy_str(st->thread, t->name, sizeof(st->thread));
}

/* Reporter thread: freeze every registered thread but the NSKIP in SKIP
 * (0 entries match nothing), each recording its stack into a slot of
 * INC->threads first; wait for them, at most FREEZE_WAIT_MS. */
void fatal_freeze_others(struct fatal_incident *inc, const pid_t *skip, int nskip)
{
    struct freeze_walk w = {.inc = inc, .skip = skip, .nskip = nskip};
    uint64_t deadline;
    int sent = 0;

    frz.inc = inc;
    thread_foreach(collect_thread, &w);
    inc->nthreads = w.n;
    /* By kernel thread id: a thread that has gone (ESRCH) is simply skipped. */
    for (int i = 0; i < w.n; i++)
        if (syscall(SYS_tgkill, getpid(), inc->threads[i].lwp, FREEZE_SIGNAL) == 0)
            sent++;
    deadline = base_now_ns() + (uint64_t)FREEZE_WAIT_MS * 1000000u;
    while (atomic_load(&frz.acks) < sent && base_now_ns() < deadline) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Install the freeze signal's handler. Once, early. */
void fatal_freeze_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = freeze_handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    sigaction(FREEZE_SIGNAL, &sa, NULL);
}
