/* SPDX-License-Identifier: MIT */
/* Emulated interrupt controller.
 *
 * Design note
 * -----------
 * An IRQ line is a POSIX real-time signal aimed at one thread, the "CPU"
 * (by default lwIP's tcpip thread). The signal handler is the ISR: it runs
 * asynchronously on top of whatever that thread was executing, lwIP code
 * included. That preemption is the point of lwipd, so ISRs are never turned
 * into event-loop callbacks.
 *
 * Each line has an "asserted" latch, like an interrupt status bit. irq_raise()
 * sends a signal only on the 0 -> 1 edge; the ISR clears the latch on entry
 * and services everything that completed (as an EMAC driver walks its ring).
 * Raises while asserted are coalesced, as on hardware.
 *
 * "Disabling interrupts" (SYS_ARCH_PROTECT and every internal lock of the
 * port) is a per-thread nesting counter rather than pthread_sigmask(): a
 * signal that arrives while the counter is non-zero only marks the line
 * pending, and irq_enable() runs the pending ISRs when the counter returns to
 * zero. The ISR therefore never runs inside a masked region, exactly as with
 * a masked signal, but masking costs no system call; lwIP enters
 * SYS_ARCH_PROTECT several times per frame, so this matters for throughput.
 * The counter and the pending mask are thread-local and only touched by
 * their own thread and its signal handler, so signal fences (not atomics
 * across CPUs) order them; the pending mask is read-and-cleared with an
 * atomic exchange because the handler may set bits at any instruction.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "mcu/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"
#include "base/names.h"
#include "mcu/mutex.h"

#define IRQ_SIGNAL_OFFSET 4 /* first line is SIGRTMIN+4 */

struct irq_line {
    const char *name;
    _Atomic(irq_isr_cb) isr; /* NULL: the line is free */
    void *arg;
    int signo;
    _Atomic(pthread_t) target;
    atomic_bool has_target;
    struct mutex *const *_Atomic follow; /* the "CPU": see irq_line_follow_lock() */
    atomic_int asserted;
    atomic_int hops; /* forwards of the pending IRQ (follow) */
    atomic_uint_fast64_t raised;
    atomic_uint_fast64_t coalesced;
    atomic_uint_fast64_t serviced;
    atomic_uint_fast64_t deferred;
    atomic_uint_fast64_t forwarded;
};

static struct {
    enum irq_policy policy;
    pid_t pid;
    int nlines;
    struct irq_line lines[IRQ_MAX_LINES];
    atomic_uint_fast64_t violations;
    irq_violation_cb violation_hook;
    void *violation_arg;
} irqc;

static __thread volatile unsigned tls_mask_depth;
static __thread volatile int tls_in_isr;
static __thread void *volatile tls_isr_uc;
static __thread _Atomic unsigned tls_pending;

/* Locks an ISR skipped under --irq-policy rtos (irq_mutex_lock), so that
 * their unlock is skipped too and the interrupted owner keeps its lock. */
static __thread struct mutex *tls_skipped[8];
static __thread unsigned tls_nskipped;

const char *const irq_policy_names[IRQ_POLICY_POSIX + 1] = {
    [IRQ_POLICY_DETECT] = "detect",
    [IRQ_POLICY_RTOS] = "rtos",
    [IRQ_POLICY_POSIX] = "posix",
};

const char *irq_policy_name(enum irq_policy p)
{
    return names_get(irq_policy_names, NAMES_COUNT(irq_policy_names), (unsigned)p);
}

/* Parse a policy name. Returns 0 or -EINVAL (*OUT untouched). */
int irq_policy_parse(const char *s, enum irq_policy *out)
{
    unsigned v;
    int err = names_find(irq_policy_names, NAMES_COUNT(irq_policy_names), s, &v);

    if (err == 0)
        *out = (enum irq_policy)v;
    return err;
}

enum irq_policy irq_policy(void)
{
    return irqc.policy;
}

/* A line that follows a lock (irq_line_follow_lock): the ISR runs where the
 * lock's owner is, as a single CPU would interrupt whatever runs the code
 * the lock guards. A forward lands within microseconds, so a few hops are
 * the most ever seen; the bound only guarantees that a lock passed around
 * without pause still gets its IRQ serviced (then in place). */
#define IRQ_MAX_HOPS 64

/* Where the signal landed: run here (we own the lock, or nobody does and we
 * claim it for the ISR's duration, so nobody enters meanwhile: *CLAIMED is
 * the lock to give back), or pass it on to the owner (returns false). */
static bool irq_follow(struct irq_line *l, struct mutex *const **claimed)
{
    struct mutex *const *lock = atomic_load_explicit(&l->follow, memory_order_relaxed);
    pid_t self, owner;

    *claimed = NULL;
    if (!lock)
        return true;
    self = base_gettid();
    for (int i = 0; i < IRQ_MAX_HOPS; i++) {
        owner = mutex_owner(lock, false);
        if (owner == self)
            return true;
        if (owner == 0) {
            if (mutex_claim(lock)) {
                *claimed = lock;
                return true;
            }
            continue;
        }
        if (atomic_fetch_add_explicit(&l->hops, 1, memory_order_relaxed) >= IRQ_MAX_HOPS)
            return true;
        /* Counted first: the owner may run the ISR before tgkill returns. */
        atomic_fetch_add_explicit(&l->forwarded, 1, memory_order_relaxed);
        if (syscall(SYS_tgkill, irqc.pid, owner, l->signo) == 0)
            return false;
        atomic_fetch_sub_explicit(&l->forwarded, 1, memory_order_relaxed);
    }
    return true;
}

static void irq_dispatch(struct irq_line *l, void *uc);

/* Run line L's ISR in this thread, or pass it on (irq_follow). UC: the
 * interrupted context, NULL when run at irq_enable(). */
static void irq_service(struct irq_line *l, void *uc)
{
    struct mutex *const *claimed;

    if (!irq_follow(l, &claimed))
        return;
    irq_dispatch(l, uc);
    if (claimed)
        mutex_unclaim(claimed);
}

static void irq_dispatch(struct irq_line *l, void *uc)
{
    atomic_store_explicit(&l->hops, 0, memory_order_relaxed);
    atomic_store_explicit(&l->asserted, 0, memory_order_release);
    tls_isr_uc = uc;
    tls_in_isr = 1;
    atomic_signal_fence(memory_order_seq_cst);
    irq_isr_cb isr = atomic_load(&l->isr);
    if (isr)
        isr(l->arg);
    atomic_signal_fence(memory_order_seq_cst);
    tls_in_isr = 0;
    tls_isr_uc = NULL;
    atomic_fetch_add_explicit(&l->serviced, 1, memory_order_relaxed);
}

static void irq_signal_handler(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    int n = sig - (SIGRTMIN + IRQ_SIGNAL_OFFSET);

    (void)si;
    if (n >= 0 && n < irqc.nlines && atomic_load(&irqc.lines[n].isr)) {
        struct irq_line *l = &irqc.lines[n];

        if (tls_mask_depth > 0 || tls_in_isr) {
            atomic_fetch_or(&tls_pending, 1u << n);
            atomic_fetch_add_explicit(&l->deferred, 1, memory_order_relaxed);
        } else {
            irq_service(l, uc);
        }
    }
    errno = saved_errno;
}

/* Set the violation policy. Lines are installed by irq_line_new(). Returns 0. */
int irq_init(enum irq_policy policy)
{
    irqc.policy = policy;
    irqc.pid = getpid();
    return 0;
}

/* Create an IRQ line whose ISR is ISR(ARG) and install its signal handler.
 * No target yet: raises are counted but go nowhere until
 * irq_line_set_target(). Call before any thread may raise it. Returns NULL
 * (and logs) when all lines are taken or sigaction fails. */
struct irq_line *irq_line_new(const char *name, irq_isr_cb isr, void *arg)
{
    struct sigaction sa;
    struct irq_line *l = NULL;
    int n;

    for (n = 0; n < IRQ_MAX_LINES; n++) {
        if (!atomic_load(&irqc.lines[n].isr)) {
            l = &irqc.lines[n];
            break;
        }
    }
    if (!l) {
        log_err("irq", "no free IRQ line (%d in use)", IRQ_MAX_LINES);
        return NULL;
    }
    memset(l, 0, sizeof(*l));
    l->name = name;
    l->arg = arg;
    l->signo = SIGRTMIN + IRQ_SIGNAL_OFFSET + n;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = irq_signal_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    /* One priority level: no ISR nests inside another. */
    for (int i = 0; i < IRQ_MAX_LINES; i++)
        sigaddset(&sa.sa_mask, SIGRTMIN + IRQ_SIGNAL_OFFSET + i);
    if (sigaction(l->signo, &sa, NULL) != 0) {
        log_err("irq", "line %s: sigaction: %s", name, strerror(errno));
        return NULL;
    }
    atomic_store(&l->isr, isr); /* the line is live from here */
    if (n >= irqc.nlines)
        irqc.nlines = n + 1;
    return l;
}

/* Give the line back. A signal still in flight finds no ISR and is ignored.
 * The caller makes sure nothing raises L any more. */
void irq_line_free(struct irq_line *l)
{
    if (l) {
        atomic_store(&l->has_target, false);
        atomic_store(&l->follow, NULL);
        atomic_store(&l->isr, NULL);
    }
}

const char *irq_line_name(const struct irq_line *l)
{
    return l->name;
}

int irq_line_signo(const struct irq_line *l)
{
    return l->signo;
}

/* Aim line L at thread TARGET (the thread that plays the CPU). */
void irq_line_set_target(struct irq_line *l, pthread_t target)
{
    atomic_store(&l->target, target);
    atomic_store(&l->has_target, true);
}

/* Aim line L at whoever owns LOCK (the core lock: the thread inside lwIP),
 * or when it is free at its last owner, or else the fixed target. Where the
 * signal lands the ISR runs only if that thread owns LOCK or can take it for
 * the ISR's duration; otherwise it is passed on to the owner. */
void irq_line_follow_lock(struct irq_line *l, struct mutex *const *lock)
{
    atomic_store(&l->follow, lock);
}

/* Assert line L. Async-signal-safe; callable from any thread. A raise while
 * the line is still asserted is coalesced into the pending one. */
void irq_raise(struct irq_line *l)
{
    if (atomic_exchange_explicit(&l->asserted, 1, memory_order_acq_rel) != 0) {
        atomic_fetch_add_explicit(&l->coalesced, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&l->raised, 1, memory_order_relaxed);
    struct mutex *const *lock = atomic_load_explicit(&l->follow, memory_order_relaxed);
    pid_t tid = lock ? mutex_owner(lock, true) : 0;

    if (tid > 0 && syscall(SYS_tgkill, irqc.pid, tid, l->signo) == 0)
        return;
    if (atomic_load(&l->has_target))
        pthread_kill(atomic_load(&l->target), l->signo);
}

void irq_line_get_stats(const struct irq_line *l, struct irq_line_stats *out)
{
    out->raised = atomic_load_explicit(&l->raised, memory_order_relaxed);
    out->coalesced = atomic_load_explicit(&l->coalesced, memory_order_relaxed);
    out->serviced = atomic_load_explicit(&l->serviced, memory_order_relaxed);
    out->deferred = atomic_load_explicit(&l->deferred, memory_order_relaxed);
    out->forwarded = atomic_load_explicit(&l->forwarded, memory_order_relaxed);
}

/* "Disable interrupts" for the calling thread; nests. */
void irq_disable(void)
{
    tls_mask_depth++;
    atomic_signal_fence(memory_order_seq_cst);
}

static void irq_run_pending(void)
{
    unsigned pending;

    /* Keep the mask raised while servicing, so a new arrival is deferred
     * to the next round of this loop instead of nesting. */
    tls_mask_depth++;
    while ((pending = atomic_exchange(&tls_pending, 0)) != 0) {
        for (int n = 0; n < irqc.nlines; n++) {
            if (pending & (1u << n)) {
                tls_mask_depth--;
                irq_service(&irqc.lines[n], NULL);
                tls_mask_depth++;
            }
        }
    }
    tls_mask_depth--;
}

/* "Enable interrupts" again; at the outermost level, run the ISRs that
 * arrived while masked, in this thread, before returning. */
void irq_enable(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    if (--tls_mask_depth == 0 && !tls_in_isr && atomic_load(&tls_pending) != 0)
        irq_run_pending();
}

bool irq_in_isr(void)
{
    return tls_in_isr != 0;
}

bool irq_masked(void)
{
    return tls_mask_depth != 0;
}

/* The ucontext of the code the running ISR interrupted, or NULL when the ISR
 * was run at irq_enable() (then the interrupted code is the caller). */
void *irq_isr_ucontext(void)
{
    return tls_isr_uc;
}

static const char *const violation_names[] = {
    [IRQ_V_BLOCKING] = "blocking call in ISR",
    [IRQ_V_REENTRY] = "ISR re-entered a lock held by the interrupted context",
    [IRQ_V_HELD_OTHER] = "ISR would wait for a lock held by another thread",
};

const char *irq_violation_kind_name(enum irq_violation_kind kind)
{
    return names_get(violation_names, NAMES_COUNT(violation_names), (unsigned)kind);
}

/* An ISR broke a rule: count it and tell the violation hook (which, under
 * "detect", reports the incident with both stacks and stops the process:
 * crash/'s fatal_on_irq_violation()). Then tell the caller whether to skip
 * the lock/wait ("rtos") or go on and block ("posix"). Under "detect" with
 * no hook, or one that returns, a line goes to the log and the lock/wait is
 * skipped. Async-signal-safe as long as the hook is. */
enum irq_action irq_violation(enum irq_violation_kind kind, const char *primitive,
                              const char *object)
{
    atomic_fetch_add_explicit(&irqc.violations, 1, memory_order_relaxed);
    if (irqc.violation_hook)
        irqc.violation_hook(irqc.violation_arg, kind, primitive, object);
    if (irqc.policy == IRQ_POLICY_DETECT)
        log_write_safe(LOG_CRIT, "irq", "ISR rule broken and nobody to report it: skipped");
    return irqc.policy == IRQ_POLICY_POSIX ? IRQ_ACT_PROCEED : IRQ_ACT_SKIP;
}

/* CB(ARG, ...) is told about every violation (see irq_violation()); it runs
 * in the ISR, so it must be async-signal-safe. NULL: nobody. */
void irq_set_violation_hook(irq_violation_cb cb, void *arg)
{
    irqc.violation_hook = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    irqc.violation_arg = arg;
    atomic_signal_fence(memory_order_seq_cst);
    irqc.violation_hook = cb;
}

uint64_t irq_violation_count(void)
{
    return atomic_load_explicit(&irqc.violations, memory_order_relaxed);
}

/* Take M from any context, keeping the ISR rules: inside an ISR, a lock
 * that is held is a violation (irq_violation(): re-entry when the
 * interrupted context holds it, a wait when another thread does); when the
 * policy says skip, the ISR goes on without it and its irq_mutex_unlock()
 * is skipped too. PRIMITIVE names the caller in reports. Returns 0 (taken,
 * or skipped as the policy says), or -EDEADLK (not taken) when a thread
 * outside an ISR locks the mutex it holds already. */
int irq_mutex_lock(struct mutex *m, const char *primitive)
{
    struct mutex *const mp = m;
    pid_t self = base_gettid();
    pid_t owner = mutex_owner(&mp, false);

    if (tls_in_isr && owner != 0) {
        enum irq_violation_kind kind = owner == self ? IRQ_V_REENTRY : IRQ_V_HELD_OTHER;

        if (irq_violation(kind, primitive, m->name) == IRQ_ACT_SKIP) {
            if (tls_nskipped < sizeof(tls_skipped) / sizeof(tls_skipped[0]))
                tls_skipped[tls_nskipped++] = m;
            return 0;
        }
    } else if (owner == self && !tls_in_isr) {
        return -EDEADLK;
    }
    mutex_acquire(m);
    return 0;
}

/* Give back what irq_mutex_lock() took (nothing if an ISR skipped it).
 * Returns 0, or -EPERM when the caller does not hold M. */
int irq_mutex_unlock(struct mutex *m)
{
    if (tls_in_isr && tls_nskipped > 0 && tls_skipped[tls_nskipped - 1] == m) {
        tls_nskipped--;
        return 0;
    }
    return mutex_release(m);
}

/* calloc() with this thread's IRQs masked: the code an ISR interrupts must
 * never be inside the C library's allocator (with -Dheap=libc the ISR may
 * free into it). NULL when out of memory. */
void *irq_calloc(size_t n, size_t size)
{
    void *p;

    irq_disable();
    p = calloc(n, size);
    irq_enable();
    return p;
}

/* free() for irq_calloc()'s memory, IRQs masked likewise. */
void irq_free(void *p)
{
    irq_disable();
    free(p);
    irq_enable();
}
