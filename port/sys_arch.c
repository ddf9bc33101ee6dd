/* SPDX-License-Identifier: MIT */
/* lwIP sys_arch for lwipd (NO_SYS=0): the RTOS of a single-core MCU, on Linux.
 *
 * Design note
 * -----------
 * - SYS_ARCH_PROTECT "disables interrupts" (irq_disable(): the emulated IRQs
 *   of mcu/irq.c cannot run in this thread) and takes one global recursive
 *   lock, because Linux threads really run in parallel. Every internal lock
 *   of this file is taken the same way, as an RTOS kernel does, so an ISR
 *   never finds a port structure half-updated by the thread it interrupted.
 * - Mailboxes are rings of exactly the size lwIP asks for (contrib's port
 *   ignores the size and caps at 128, which collapses large TCP windows),
 *   counted by two POSIX semaphores. sem_post() is async-signal-safe, so
 *   sys_mbox_trypost() and sys_mbox_trypost_fromisr() work inside an ISR.
 * - Semaphores are counting POSIX semaphores: no signal is ever lost.
 * - sys_mutex is mcu/mutex.c's futex word holding the owner's thread id,
 *   taken through irq_mutex_lock(). Ownership is taken by one atomic
 *   compare-and-swap, so at any instant the word says who holds the mutex, and an ISR can tell
 * "held by the context I interrupted" (a re-entry: the ISR heap re-entry) from "held by another
 * thread" (I would have to wait) and from "free".
 * - Every blocking primitive checks the thread-local in-ISR flag and reports
 *   a violation through irq_violation(), whose policy (detect, rtos, posix)
 *   decides what happens next.
 * - Waits use absolute CLOCK_MONOTONIC deadlines and retry on EINTR, so a
 *   signal (an IRQ) landing on a sleeping thread loses neither a message nor
 *   any of the timeout.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lwip/opt.h"
#include "lwip/sys.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"

#include "base/base.h"
#include "base/log.h"
#include "base/thread.h"
#include "mcu/irq.h"
#include "mcu/mutex.h"
#include "crash/fatal.h"
#include "port/lwip_compat.h"
#include "port/optcheck.h"

/* ---- threads and time -------------------------------------------------- */

/* A thread's handle, freed when the thread returns (lwIP defines no
 * operation on sys_thread_t: it is valid while the thread runs). */
struct sys_thread {
    char name[32];
    lwip_thread_fn fn;
    void *arg;
    sem_t *registered; /* the creator's; posted once the thread is in the registry */
};

/* lwIP's tcpip thread (sys_mark_tcpip_thread), for the core-lock check. */
static pid_t tcpip_lwp;

static pthread_mutex_t protect_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

u32_t sys_now(void)
{
    return (u32_t)(base_now_ns() / 1000000u);
}

u32_t sys_jiffies(void)
{
    return (u32_t)(base_now_ns() / 1000u);
}

/* A thread made by sys_thread_new(), registered by name (lwIP's own never
 * return; one that does, an app's, leaves the registry itself). */
static void *thread_trampoline(void *arg)
{
    struct sys_thread *t = arg;

    (void)thread_register_current(t->name); /* unlisted in reports if it fails */
    sem_post(t->registered);                /* the creator's: not to be touched again */
    t->fn(t->arg);
    free(t);
    return NULL;
}

/* lwIP's sys_thread_new() cannot fail, and lwIP goes on as if the thread
 * ran: without it lwIP would wait for it for ever. A thread that cannot be
 * made (an address-space, thread or memory limit) is a clear failure
 * instead: logged, and exit 71 (EX_OSERR, as lwipd(8) says). lwIP's threads
 * are made at start, before READY. */
static void thread_create_failed(const char *name, int err)
{
    log_err("port",
            "cannot create lwIP's thread %s: %s (limited by ulimit -v or -u, or a "
            "cgroup's memory or pids?)",
            name ? name : "lwip", strerror(err));
    _exit(71);
}

sys_thread_t sys_thread_new(const char *name, lwip_thread_fn thread, void *arg, int stacksize,
                            int prio)
{
    struct sys_thread *t = calloc(1, sizeof(*t));
    sem_t registered;
    pthread_t tid;
    int err;

    (void)stacksize; /* MCU stack sizes mean nothing here; Linux defaults fit */
    (void)prio;
    if (!t)
        thread_create_failed(name, ENOMEM);
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "lwip");
    if (strcmp(t->name, TCPIP_THREAD_NAME) == 0)
        snprintf(t->name, sizeof(t->name), "tcpip");
    t->fn = thread;
    t->arg = arg;
    t->registered = &registered;
    sem_init(&registered, 0, 0);
    err = pthread_create(&tid, NULL, thread_trampoline, t);
    if (err)
        thread_create_failed(t->name, err);
    pthread_detach(tid); /* lwIP has no join */
    /* Back only once the thread can be found by name: --irq-target names
     * a thread right after the code that made it returns. */
    while (sem_wait(&registered) != 0 && errno == EINTR)
        ;
    sem_destroy(&registered);
    return t;
}

void sys_mark_tcpip_thread(void)
{
    tcpip_lwp = base_gettid();
    thread_alias_current("tcpip");
}

void sys_init(void) {}

/* ---- SYS_ARCH_PROTECT --------------------------------------------------- */

sys_prot_t sys_arch_protect(void)
{
    irq_disable();
    pthread_mutex_lock(&protect_lock);
    return 0;
}

void sys_arch_unprotect(sys_prot_t pval)
{
    (void)pval;
    pthread_mutex_unlock(&protect_lock);
    irq_enable();
}

/* ---- waiting ------------------------------------------------------------ */

/* Wait for S until the absolute DEADLINE (NULL: forever), through EINTR.
 * Returns 0, or -ETIMEDOUT. */
static int sem_wait_until(sem_t *s, const struct timespec *deadline)
{
    int saved_errno = errno;

    for (;;) {
        int r = deadline ? sem_clockwait(s, CLOCK_MONOTONIC, deadline) : sem_wait(s);
        if (r == 0)
            return 0;
        if (errno == EINTR) {
            errno = saved_errno;
            continue;
        }
        if (errno == ETIMEDOUT) {
            errno = saved_errno;
            return -ETIMEDOUT;
        }
        LWIP_ASSERT("sem_wait failed", 0);
    }
}

/* lwIP's timeout convention: 0 waits forever. Returns the milliseconds
 * waited, or SYS_ARCH_TIMEOUT. */
static u32_t sem_wait_ms(sem_t *s, u32_t timeout)
{
    struct timespec deadline;
    uint64_t start;
    u32_t waited;

    /* Busy stack: the item is usually there already; no clock reads then. */
    if (sem_trywait(s) == 0)
        return 0;
    start = base_now_ns();
    if (timeout != 0)
        base_deadline_after_ms(&deadline, CLOCK_MONOTONIC, timeout);
    if (sem_wait_until(s, timeout != 0 ? &deadline : NULL) != 0)
        return SYS_ARCH_TIMEOUT;
    waited = (u32_t)((base_now_ns() - start) / 1000000u);
    return waited == SYS_ARCH_TIMEOUT ? waited - 1 : waited;
}

/* ---- semaphores --------------------------------------------------------- */

struct sys_sem {
    sem_t sem;
};

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
    struct sys_sem *s = irq_calloc(1, sizeof(*s));

    if (!s || sem_init(&s->sem, 0, count) != 0) {
        irq_free(s);
        SYS_ARCH_DECL_PROTECT(lev);
        SYS_ARCH_PROTECT(lev);
        SYS_STATS_INC(sem.err);
        SYS_ARCH_UNPROTECT(lev);
        *sem = NULL;
        return ERR_MEM;
    }
    *sem = s;
    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev);
    SYS_STATS_INC_USED(sem);
    SYS_ARCH_UNPROTECT(lev);
    return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem)
{
    sem_post(&(*sem)->sem);
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
    if (irq_in_isr() &&
        irq_violation(IRQ_V_BLOCKING, "sys_arch_sem_wait", "semaphore") == IRQ_ACT_SKIP)
        return sem_trywait(&(*sem)->sem) == 0 ? 0 : SYS_ARCH_TIMEOUT;
    return sem_wait_ms(&(*sem)->sem, timeout);
}

void sys_sem_free(sys_sem_t *sem)
{
    SYS_ARCH_DECL_PROTECT(lev);

    sem_destroy(&(*sem)->sem);
    irq_free(*sem);
    *sem = NULL;
    SYS_ARCH_PROTECT(lev);
    SYS_STATS_DEC(sem.used);
    SYS_ARCH_UNPROTECT(lev);
}

int sys_sem_valid(sys_sem_t *sem)
{
    return sem != NULL && *sem != NULL;
}

void sys_sem_set_invalid(sys_sem_t *sem)
{
    *sem = NULL;
}

/* ---- mutexes ------------------------------------------------------------ */

/* A sys_mutex is mcu/mutex.c's owner-word mutex (sys_arch.h), taken through
 * irq_mutex_lock() so that the ISR rules apply. */

err_t sys_mutex_new(sys_mutex_t *mutex)
{
    struct mutex *m = irq_calloc(1, sizeof(*m));
    void *caller = __builtin_return_address(0);
    char name[MUTEX_NAME_LEN];
    Dl_info di;
    SYS_ARCH_DECL_PROTECT(lev);

    SYS_ARCH_PROTECT(lev);
    if (!m) {
        SYS_STATS_INC(mutex.err);
        SYS_ARCH_UNPROTECT(lev);
        *mutex = NULL;
        return ERR_MEM;
    }
    SYS_STATS_INC_USED(mutex);
    SYS_ARCH_UNPROTECT(lev);
    if (dladdr(caller, &di) && di.dli_sname)
        snprintf(name, sizeof(name), "mutex from %s", di.dli_sname);
    else
        snprintf(name, sizeof(name), "mutex from %p", caller);
    mutex_init(m, name);
    *mutex = m;
    return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
    if (irq_mutex_lock(*mutex, "sys_mutex_lock") == -EDEADLK)
        fatal_report("lwip-bug", "sys_mutex_lock: the owner locks its mutex again (self-deadlock)");
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
    if (irq_mutex_unlock(*mutex) != 0)
        fatal_report("lwip-bug", "sys_mutex_unlock: mutex not held by the caller");
}

void sys_mutex_free(sys_mutex_t *mutex)
{
    SYS_ARCH_DECL_PROTECT(lev);

    irq_free(*mutex);
    *mutex = NULL;
    SYS_ARCH_PROTECT(lev);
    SYS_STATS_DEC(mutex.used);
    SYS_ARCH_UNPROTECT(lev);
}

int sys_mutex_valid(sys_mutex_t *mutex)
{
    return mutex != NULL && *mutex != NULL;
}

void sys_mutex_set_invalid(sys_mutex_t *mutex)
{
    *mutex = NULL;
}

void sys_check_core_locking(void)
{
    if (irq_in_isr())
        fatal_report("lwip-bug", "lwIP core function called from an ISR");
#if LWIP_TCPIP_CORE_LOCKING
    if (sys_mutex_valid(&lock_tcpip_core) && !mutex_held_by_me(&lock_tcpip_core))
        fatal_report("lwip-bug", "lwIP core function called without the core lock");
#else
    if (tcpip_lwp != 0 && base_gettid() != tcpip_lwp)
        fatal_report("lwip-bug", "lwIP core function called outside the tcpip thread");
#endif
}

/* ---- mailboxes ---------------------------------------------------------- */

struct sys_mbox {
    pthread_mutex_t lock;
    sem_t items;
    sem_t spaces;
    unsigned size;
    unsigned rd;
    unsigned wr;
    void *slots[];
};

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
    struct sys_mbox *mb;
    SYS_ARCH_DECL_PROTECT(lev);

    if (size <= 0)
        size = 128; /* lwIP passes 0 for "default" in some configurations */
    mb = irq_calloc(1, sizeof(*mb) + (size_t)size * sizeof(void *));
    SYS_ARCH_PROTECT(lev);
    if (!mb) {
        SYS_STATS_INC(mbox.err);
        SYS_ARCH_UNPROTECT(lev);
        *mbox = NULL;
        return ERR_MEM;
    }
    SYS_STATS_INC_USED(mbox);
    SYS_ARCH_UNPROTECT(lev);
    pthread_mutex_init(&mb->lock, NULL);
    sem_init(&mb->items, 0, 0);
    sem_init(&mb->spaces, 0, (unsigned)size);
    mb->size = (unsigned)size;
    *mbox = mb;
    return ERR_OK;
}

/* A space is reserved: store MSG. IRQs masked, so an ISR on this thread never
 * sees the ring half-updated; another thread's ISR only waits briefly. */
static void mbox_put(struct sys_mbox *mb, void *msg)
{
    irq_disable();
    pthread_mutex_lock(&mb->lock);
    mb->slots[mb->wr] = msg;
    mb->wr = mb->wr + 1 == mb->size ? 0 : mb->wr + 1;
    pthread_mutex_unlock(&mb->lock);
    irq_enable();
    sem_post(&mb->items);
}

static void *mbox_take(struct sys_mbox *mb)
{
    void *msg;

    irq_disable();
    pthread_mutex_lock(&mb->lock);
    msg = mb->slots[mb->rd];
    mb->rd = mb->rd + 1 == mb->size ? 0 : mb->rd + 1;
    pthread_mutex_unlock(&mb->lock);
    irq_enable();
    sem_post(&mb->spaces);
    return msg;
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
    int saved_errno = errno; /* lwIP's sockets report errno: never clobber it */

    if (sem_trywait(&(*mbox)->spaces) != 0) {
        errno = saved_errno;
        return ERR_MEM;
    }
    mbox_put(*mbox, msg);
    return ERR_OK;
}

#if LWIPD_LWIP_AT_LEAST(2, 1)
/* Required by lwIP >= 2.1 (tcpip_callbackmsg_trycallback_fromisr); our
 * trypost is ISR-safe already. */
err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
    return sys_mbox_trypost(mbox, msg);
}
#endif

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
    if (irq_in_isr() && irq_violation(IRQ_V_BLOCKING, "sys_mbox_post", "mailbox") == IRQ_ACT_SKIP) {
        (void)sys_mbox_trypost(mbox, msg); /* an RTOS would drop it when full */
        return;
    }
    sem_wait_until(&(*mbox)->spaces, NULL);
    mbox_put(*mbox, msg);
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
    u32_t waited;

    if (irq_in_isr() &&
        irq_violation(IRQ_V_BLOCKING, "sys_arch_mbox_fetch", "mailbox") == IRQ_ACT_SKIP)
        return sys_arch_mbox_tryfetch(mbox, msg) == SYS_MBOX_EMPTY ? SYS_ARCH_TIMEOUT : 0;
    waited = sem_wait_ms(&(*mbox)->items, timeout);
    if (waited == SYS_ARCH_TIMEOUT) {
        if (msg)
            *msg = NULL;
        return SYS_ARCH_TIMEOUT;
    }
    void *m = mbox_take(*mbox);
    if (msg)
        *msg = m;
    return waited;
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
    int saved_errno = errno;

    if (sem_trywait(&(*mbox)->items) != 0) {
        errno = saved_errno;
        return SYS_MBOX_EMPTY;
    }
    void *m = mbox_take(*mbox);
    if (msg)
        *msg = m;
    return 0;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
    struct sys_mbox *mb = *mbox;
    int left = 0;
    SYS_ARCH_DECL_PROTECT(lev);

    sem_getvalue(&mb->items, &left);
    if (left > 0)
        log_warn("sys", "mailbox freed with %d message(s) in it", left);
    sem_destroy(&mb->items);
    sem_destroy(&mb->spaces);
    pthread_mutex_destroy(&mb->lock);
    irq_free(mb);
    *mbox = NULL;
    SYS_ARCH_PROTECT(lev);
    SYS_STATS_DEC(mbox.used);
    SYS_ARCH_UNPROTECT(lev);
}

int sys_mbox_valid(sys_mbox_t *mbox)
{
    return mbox != NULL && *mbox != NULL;
}

void sys_mbox_set_invalid(sys_mbox_t *mbox)
{
    *mbox = NULL;
}

/* ---- per-thread netconn semaphore --------------------------------------- */

static pthread_key_t netconn_sem_key;
static pthread_once_t netconn_sem_once = PTHREAD_ONCE_INIT;
static __thread sys_sem_t tls_netconn_sem;

static void netconn_sem_destroy(void *p)
{
    sys_sem_t s = p;

    sys_sem_free(&s);
}

static void netconn_sem_key_init(void)
{
    pthread_key_create(&netconn_sem_key, netconn_sem_destroy);
}

void sys_arch_netconn_sem_alloc(void)
{
    if (tls_netconn_sem)
        return;
    pthread_once(&netconn_sem_once, netconn_sem_key_init);
    if (sys_sem_new(&tls_netconn_sem, 0) == ERR_OK)
        pthread_setspecific(netconn_sem_key, tls_netconn_sem);
}

/* The calling thread's semaphore, made on first use so that threads which
 * never called netconn_thread_init() can use the sockets API too. */
sys_sem_t *sys_arch_netconn_sem_get(void)
{
    if (!tls_netconn_sem)
        sys_arch_netconn_sem_alloc();
    return &tls_netconn_sem;
}

void sys_arch_netconn_sem_free(void)
{
    if (!tls_netconn_sem)
        return;
    pthread_setspecific(netconn_sem_key, NULL);
    sys_sem_free(&tls_netconn_sem);
}

/* ---- platform hooks (cc.h) ---------------------------------------------- */

void port_diag(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (LOG_DEBUG > log_level_current)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_debug("lwip", "%s", buf);
}

void port_assert(const char *msg, int line, const char *file)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s (%s:%d)", msg, file, line);
    fatal_report("lwip-assert", buf);
}

static __thread uint64_t tls_rand_state;

/* xorshift64*; one stream per thread, seeded from the kernel. */
uint32_t port_rand(void)
{
    uint64_t x = tls_rand_state;

    if (x == 0) {
        if (getrandom(&x, sizeof(x), 0) != sizeof(x) || x == 0)
            x = base_now_ns() | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tls_rand_state = x;
    return (uint32_t)((x * 2685821657736338717ull) >> 32);
}
