/* SPDX-License-Identifier: MIT */
/* Unit tests for port/sys_arch.c: every primitive, including posting from
 * a signal handler while the consumer sleeps and timed waits bombarded by
 * signals, SYS_ARCH_PROTECT's exclusion across threads, lwIP threads and
 * the per-thread semaphores. The ISR rules are test_sys_arch_isr.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lwip/sys.h"
#include "lwip/tcpip.h"

#include "crash/fatal.h"
#include "mcu/irq.h"
#include "port/lwip_compat.h"
#include "base/base.h"
#include "base/thread.h"
#include "mcu/mutex.h"
#include "tests/unit/test_sys_arch_util.h"

/* ---- semaphores --------------------------------------------------------- */

static void test_sem_counts_and_times_out(void **state)
{
    sys_sem_t s;
    uint64_t t0;
    u32_t r;

    (void)state;
    assert_int_equal(sys_sem_new(&s, 0), ERR_OK);
    assert_true(sys_sem_valid(&s));
    for (int i = 0; i < 3; i++)
        sys_sem_signal(&s);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(sys_arch_sem_wait(&s, 1000), SYS_ARCH_TIMEOUT);
    t0 = now_ms();
    r = sys_arch_sem_wait(&s, 50);
    assert_int_equal(r, SYS_ARCH_TIMEOUT);
    assert_true(now_ms() - t0 >= 50);
    sys_sem_free(&s);
    sys_sem_set_invalid(&s);
    assert_false(sys_sem_valid(&s));
}

/* A no-op handler installed without SA_RESTART: every delivery interrupts
 * the waiter's system call with EINTR. */
static void noop_handler(int sig)
{
    (void)sig;
}

struct bomber {
    pthread_t target;
    atomic_bool stop;
    atomic_int sent;
};

static void *bomber_thread(void *arg)
{
    struct bomber *b = arg;
    struct timespec ts = {0, 2 * 1000000};

    while (!atomic_load(&b->stop)) {
        pthread_kill(b->target, SIGUSR1);
        atomic_fetch_add(&b->sent, 1);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void bomber_start(struct bomber *b, pthread_t target, pthread_t *tid)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = noop_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    b->target = target;
    atomic_store(&b->stop, false);
    atomic_store(&b->sent, 0);
    assert_int_equal(pthread_create(tid, NULL, bomber_thread, b), 0);
}

static void bomber_stop(struct bomber *b, pthread_t tid)
{
    atomic_store(&b->stop, true);
    pthread_join(tid, NULL);
}

static void test_sem_timed_wait_survives_signals(void **state)
{
    struct bomber b;
    pthread_t tid;
    sys_sem_t s;
    uint64_t t0, waited;
    u32_t r;

    (void)state;
    assert_int_equal(sys_sem_new(&s, 0), ERR_OK);
    bomber_start(&b, pthread_self(), &tid);
    t0 = now_ms();
    r = sys_arch_sem_wait(&s, 300);
    waited = now_ms() - t0;
    bomber_stop(&b, tid);
    assert_int_equal(r, SYS_ARCH_TIMEOUT);
    assert_true(atomic_load(&b.sent) > 20); /* it really was interrupted */
    assert_true(waited >= 300);             /* and the timeout was not cut short */
    assert_true(waited < 5000);             /* nor restarted from scratch forever */
    sys_sem_free(&s);
}

struct late_signal {
    sys_sem_t *sem;
    int delay_ms;
};

static void *late_signal_thread(void *arg)
{
    struct late_signal *l = arg;
    struct timespec ts = {0, (long)l->delay_ms * 1000000L};

    nanosleep(&ts, NULL);
    sys_sem_signal(l->sem);
    return NULL;
}

static void test_sem_forever_wait_survives_signals(void **state)
{
    struct bomber b;
    struct late_signal l;
    pthread_t tid, sig_tid;
    sys_sem_t s;

    (void)state;
    assert_int_equal(sys_sem_new(&s, 0), ERR_OK);
    l.sem = &s;
    l.delay_ms = 150;
    bomber_start(&b, pthread_self(), &tid);
    assert_int_equal(pthread_create(&sig_tid, NULL, late_signal_thread, &l), 0);
    assert_int_not_equal(sys_arch_sem_wait(&s, 0), SYS_ARCH_TIMEOUT);
    bomber_stop(&b, tid);
    pthread_join(sig_tid, NULL);
    assert_true(atomic_load(&b.sent) > 10);
    sys_sem_free(&s);
}

/* ---- mailboxes ---------------------------------------------------------- */

static void test_mbox_honours_size(void **state)
{
    sys_mbox_t mb;
    void *msg;

    (void)state;
    /* contrib's unix port caps every mailbox at 128 entries. */
    assert_int_equal(sys_mbox_new(&mb, 1000), ERR_OK);
    for (uintptr_t i = 1; i <= 1000; i++)
        assert_int_equal(sys_mbox_trypost(&mb, (void *)i), ERR_OK);
    assert_int_equal(sys_mbox_trypost(&mb, (void *)1001), ERR_MEM);
    for (uintptr_t i = 1; i <= 1000; i++) {
        assert_int_not_equal(sys_arch_mbox_tryfetch(&mb, &msg), SYS_MBOX_EMPTY);
        assert_ptr_equal(msg, (void *)i); /* FIFO */
    }
    assert_int_equal(sys_arch_mbox_tryfetch(&mb, &msg), SYS_MBOX_EMPTY);
    assert_int_equal(sys_arch_mbox_fetch(&mb, &msg, 20), SYS_ARCH_TIMEOUT);
    assert_null(msg);
    sys_mbox_free(&mb);
}

struct producer {
    sys_mbox_t *mb;
    int count;
};

static void *producer_thread(void *arg)
{
    struct producer *p = arg;

    for (uintptr_t i = 1; i <= (uintptr_t)p->count; i++)
        sys_mbox_post(p->mb, (void *)i); /* blocks while full */
    return NULL;
}

static void test_mbox_blocking_post_and_fetch(void **state)
{
    struct producer p;
    pthread_t tid;
    sys_mbox_t mb;
    void *msg;

    (void)state;
    assert_int_equal(sys_mbox_new(&mb, 4), ERR_OK);
    p.mb = &mb;
    p.count = 20000;
    assert_int_equal(pthread_create(&tid, NULL, producer_thread, &p), 0);
    for (uintptr_t i = 1; i <= 20000; i++) {
        assert_int_not_equal(sys_arch_mbox_fetch(&mb, &msg, 5000), SYS_ARCH_TIMEOUT);
        assert_ptr_equal(msg, (void *)i);
    }
    pthread_join(tid, NULL);
    sys_mbox_free(&mb);
}

/* An ISR posts into a mailbox while the consumer sleeps in fetch. The IRQ
 * is aimed at the consumer itself, so the post really happens inside a
 * signal handler that interrupted the very wait it must wake. */
static sys_mbox_t isr_mbox;
static atomic_int isr_posts;

static void post_isr(void *arg)
{
    (void)arg;
#if LWIPD_LWIP_AT_LEAST(2, 1)
    err_t err = sys_mbox_trypost_fromisr(&isr_mbox, (void *)(uintptr_t)0xfeed);
#else
    err_t err = sys_mbox_trypost(&isr_mbox, (void *)(uintptr_t)0xfeed);
#endif
    if (err == ERR_OK)
        atomic_fetch_add(&isr_posts, 1);
}

struct raiser {
    struct irq_line *line;
    int delay_ms;
};

static void *raiser_thread(void *arg)
{
    struct raiser *r = arg;
    struct timespec ts = {0, (long)r->delay_ms * 1000000L};

    nanosleep(&ts, NULL);
    irq_raise(r->line);
    return NULL;
}

static struct irq_line *post_line;

static void test_mbox_post_from_isr_wakes_sleeper(void **state)
{
    struct raiser r;
    pthread_t tid;
    void *msg = NULL;
    u32_t w;

    (void)state;
    assert_int_equal(sys_mbox_new(&isr_mbox, 8), ERR_OK);
    irq_line_set_target(post_line, pthread_self());
    r.line = post_line;
    r.delay_ms = 100;
    assert_int_equal(pthread_create(&tid, NULL, raiser_thread, &r), 0);
    w = sys_arch_mbox_fetch(&isr_mbox, &msg, 0); /* forever */
    pthread_join(tid, NULL);
    assert_int_not_equal(w, SYS_ARCH_TIMEOUT);
    assert_ptr_equal(msg, (void *)(uintptr_t)0xfeed);
    assert_int_equal(atomic_load(&isr_posts), 1);
    sys_mbox_free(&isr_mbox);
}

static struct irq_line *noop_line;
static atomic_int noop_runs;

static void noop_isr(void *arg)
{
    (void)arg;
    atomic_fetch_add(&noop_runs, 1);
}

struct irq_storm {
    struct irq_line *line;
    atomic_bool stop;
};

static void *storm_thread(void *arg)
{
    struct irq_storm *s = arg;
    struct timespec ts = {0, 1000000};

    while (!atomic_load(&s->stop)) {
        irq_raise(s->line);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_mbox_timed_fetch_under_irq_storm(void **state)
{
    struct irq_storm s = {.line = noop_line};
    pthread_t tid;
    sys_mbox_t mb;
    void *msg;
    uint64_t t0, waited;
    int before = atomic_load(&noop_runs);

    (void)state;
    assert_int_equal(sys_mbox_new(&mb, 8), ERR_OK);
    irq_line_set_target(noop_line, pthread_self());
    atomic_store(&s.stop, false);
    assert_int_equal(pthread_create(&tid, NULL, storm_thread, &s), 0);
    t0 = now_ms();
    assert_int_equal(sys_arch_mbox_fetch(&mb, &msg, 200), SYS_ARCH_TIMEOUT);
    waited = now_ms() - t0;
    /* A message posted now (still under the storm) is not lost. */
    assert_int_equal(sys_mbox_trypost(&mb, (void *)7), ERR_OK);
    assert_int_not_equal(sys_arch_mbox_fetch(&mb, &msg, 1000), SYS_ARCH_TIMEOUT);
    atomic_store(&s.stop, true);
    pthread_join(tid, NULL);
    assert_ptr_equal(msg, (void *)7);
    assert_true(waited >= 200);
    assert_true(atomic_load(&noop_runs) - before > 10);
    sys_mbox_free(&mb);
}

/* ---- mutexes ------------------------------------------------------------ */

static sys_mutex_t count_mutex;
static long counter;

static void *count_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200000; i++) {
        sys_mutex_lock(&count_mutex);
        counter++;
        sys_mutex_unlock(&count_mutex);
    }
    return NULL;
}

static void test_mutex_excludes(void **state)
{
    pthread_t t[3];

    (void)state;
    assert_int_equal(sys_mutex_new(&count_mutex), ERR_OK);
    counter = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_thread, NULL), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(counter, 600000);
    assert_false(mutex_held_by_me(&count_mutex));
    sys_mutex_lock(&count_mutex);
    assert_true(mutex_held_by_me(&count_mutex));
    sys_mutex_unlock(&count_mutex);
    sys_mutex_free(&count_mutex);
}

/* ---- interrupt masking -------------------------------------------------- */

static void wait_deferred(struct irq_line *l, uint64_t before)
{
    struct irq_line_stats st;

    for (int i = 0; i < 2000; i++) { /* bounded: up to 2 s */
        irq_line_get_stats(l, &st);
        if (st.deferred > before)
            return;
        usleep(1000);
    }
    fail_msg("the IRQ never arrived");
}

static void test_protect_defers_isr(void **state)
{
    struct irq_line_stats st;
    int before;

    (void)state;
    irq_line_set_target(noop_line, pthread_self());
    irq_line_get_stats(noop_line, &st);
    before = atomic_load(&noop_runs);

    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev);
    SYS_ARCH_PROTECT(lev); /* nests */
    irq_raise(noop_line);
    wait_deferred(noop_line, st.deferred);
    SYS_ARCH_UNPROTECT(lev);
    assert_int_equal(atomic_load(&noop_runs), before); /* still masked */
    SYS_ARCH_UNPROTECT(lev);
    assert_int_equal(atomic_load(&noop_runs), before + 1); /* ran at unmask */
}

/* Threads that really run in parallel: SYS_ARCH_PROTECT is one lock for the
 * whole process, not only an interrupt mask. Each thread does unprotected
 * read-modify-write steps on a plain counter inside the section, nested as
 * lwIP nests it, yielding in the middle; any overlap would lose updates and
 * is also seen directly by the occupancy count. */
#define PROTECT_THREADS 4
#define PROTECT_ROUNDS  20000

static long protect_counter;
static atomic_int protect_inside, protect_overlaps;

static void *protect_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < PROTECT_ROUNDS; i++) {
        SYS_ARCH_DECL_PROTECT(lev);
        SYS_ARCH_PROTECT(lev);
        if (atomic_fetch_add(&protect_inside, 1) != 0)
            atomic_fetch_add(&protect_overlaps, 1);
        long v = protect_counter;
        if (i % 64 == 0)
            sched_yield();     /* invite another thread in: it must not get in */
        SYS_ARCH_PROTECT(lev); /* nests */
        protect_counter = v + 1;
        SYS_ARCH_UNPROTECT(lev);
        atomic_fetch_sub(&protect_inside, 1);
        SYS_ARCH_UNPROTECT(lev);
    }
    return NULL;
}

static void test_protect_excludes_other_threads(void **state)
{
    pthread_t t[PROTECT_THREADS];

    (void)state;
    protect_counter = 0;
    atomic_store(&protect_overlaps, 0);
    for (int i = 0; i < PROTECT_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, protect_thread, NULL), 0);
    for (int i = 0; i < PROTECT_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&protect_overlaps), 0);
    assert_int_equal(protect_counter, (long)PROTECT_THREADS * PROTECT_ROUNDS);
}

static atomic_int holder_in, holder_release, waiter_in;

static void *protect_holder(void *arg)
{
    (void)arg;
    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev);
    atomic_store(&holder_in, 1);
    while (!atomic_load(&holder_release))
        usleep(1000);
    SYS_ARCH_UNPROTECT(lev);
    return NULL;
}

/* Is thread TID asleep in the kernel (state S in /proc)? */
static bool thread_sleeping(pid_t tid)
{
    char path[64], buf[256];
    FILE *f;
    char *p;
    bool sleeping = false;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    f = fopen(path, "r");
    if (!f)
        return false;
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
        sleeping = p[1] == ' ' && p[2] == 'S';
    fclose(f);
    return sleeping;
}

static atomic_int waiter_tid;

static void *protect_waiter(void *arg)
{
    (void)arg;
    atomic_store(&waiter_tid, (int)base_gettid());
    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev); /* blocks while the holder is inside */
    atomic_store(&waiter_in, 1);
    SYS_ARCH_UNPROTECT(lev);
    return NULL;
}

/* A second thread's SYS_ARCH_PROTECT waits, asleep, until the holder
 * leaves, then gets in. */
static void test_protect_blocks_until_released(void **state)
{
    pthread_t h, w;

    (void)state;
    assert_int_equal(pthread_create(&h, NULL, protect_holder, NULL), 0);
    assert_true(wait_flag(&holder_in, 1));
    assert_int_equal(pthread_create(&w, NULL, protect_waiter, NULL), 0);
    assert_true(wait_flag(&waiter_tid, 1));
    /* Bounded: the waiter is seen asleep (on the lock) and still outside. */
    bool asleep = false;
    for (int i = 0; i < 2000 && !asleep; i++) {
        asleep = thread_sleeping((pid_t)atomic_load(&waiter_tid));
        if (!asleep)
            usleep(1000);
    }
    assert_true(asleep);
    assert_int_equal(atomic_load(&waiter_in), 0);
    atomic_store(&holder_release, 1);
    assert_true(wait_flag(&waiter_in, 1));
    pthread_join(h, NULL);
    pthread_join(w, NULL);
}

/* ---- threads and per-thread semaphores ---------------------------------- */

static atomic_int thread_ran;
static sys_sem_t *other_sem;

static void worker_fn(void *arg)
{
    sys_sem_t *done = arg;

    other_sem = sys_arch_netconn_sem_get();
    atomic_store(&thread_ran, 1);
    sys_sem_signal(done);
}

static void test_threads_and_netconn_sems(void **state)
{
    sys_sem_t done;
    pthread_t found;
    sys_sem_t *mine = sys_arch_netconn_sem_get();

    (void)state;
    assert_non_null(mine);
    assert_true(sys_sem_valid(mine));
    assert_ptr_equal(sys_arch_netconn_sem_get(), mine); /* stable per thread */
    assert_int_equal(sys_sem_new(&done, 0), ERR_OK);
    sys_thread_new("unit-worker", worker_fn, &done, 0, 0);
    assert_int_not_equal(sys_arch_sem_wait(&done, 5000), SYS_ARCH_TIMEOUT);
    assert_int_equal(atomic_load(&thread_ran), 1);
    assert_ptr_not_equal(other_sem, mine);
    assert_int_equal(thread_find("unit-worker", &found), 0);
    assert_int_equal(thread_find("no-such-thread", &found), -ESRCH);
    sys_sem_free(&done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sem_counts_and_times_out),
        cmocka_unit_test(test_sem_timed_wait_survives_signals),
        cmocka_unit_test(test_sem_forever_wait_survives_signals),
        cmocka_unit_test(test_mbox_honours_size),
        cmocka_unit_test(test_mbox_blocking_post_and_fetch),
        cmocka_unit_test(test_mbox_post_from_isr_wakes_sleeper),
        cmocka_unit_test(test_mbox_timed_fetch_under_irq_storm),
        cmocka_unit_test(test_mutex_excludes),
        cmocka_unit_test(test_protect_defers_isr),
        cmocka_unit_test(test_protect_excludes_other_threads),
        cmocka_unit_test(test_protect_blocks_until_released),
        cmocka_unit_test(test_threads_and_netconn_sems),
    };

    fatal_init();
    irq_init(IRQ_POLICY_DETECT);
    irq_set_violation_hook(fatal_on_irq_violation, NULL);
    post_line = irq_line_new("post", post_isr, NULL);
    noop_line = irq_line_new("noop", noop_isr, NULL);
    if (!post_line || !noop_line)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
