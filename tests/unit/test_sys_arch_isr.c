/* SPDX-License-Identifier: MIT */
/* Unit tests for the ISR rules of port/sys_arch.c and mcu/irq.c: the
 * core-lock check behind LWIP_ASSERT_CORE_LOCKED(), rule breaks under the
 * rtos and detect policies (reported through the violation hook to crash/),
 * and an IRQ that follows a lock. */
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

static atomic_int holder_in;

/* ---- the core-lock check (LWIP_ASSERT_CORE_LOCKED) ------------------------- */

/* Run FN in a child with its own fatal reporter; collect what it wrote to
 * stderr into OUT. Returns the wait status. FN is expected not to return:
 * the child exits 0 if it does. */
static int run_child(void (*fn)(void), char *out, size_t outlen)
{
    int pipefd[2], status;
    ssize_t n;
    size_t total = 0;
    pid_t pid;

    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], STDERR_FILENO);
        fatal_init(); /* the child's own reporter thread (fork copied only us) */
        irq_init(IRQ_POLICY_DETECT);
        fn();
        _exit(0);
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], out + total, outlen - 1 - total)) > 0)
        total += (size_t)n;
    out[total] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_fatal(void (*fn)(void), const char *message)
{
    char out[8192];
    int status = run_child(fn, out, sizeof(out));

    if (!WIFEXITED(status) || WEXITSTATUS(status) != FATAL_EXIT_CODE || !strstr(out, message))
        fail_msg("expected exit %d with '%s'; status %#x, output:\n%s", FATAL_EXIT_CODE, message,
                 status, out);
}

#if LWIP_TCPIP_CORE_LOCKING
static void *core_holder(void *arg)
{
    (void)arg;
    LOCK_TCPIP_CORE();
    atomic_store(&holder_in, 1);
    for (;;)
        pause(); /* holds it until the child exits */
    return NULL;
}

static void child_core_unlocked(void)
{
    sys_mutex_new(&lock_tcpip_core);
    LWIP_ASSERT_CORE_LOCKED(); /* lwIP core code, nobody holds the lock */
}

static void child_core_held_elsewhere(void)
{
    pthread_t t;

    sys_mutex_new(&lock_tcpip_core);
    atomic_store(&holder_in, 0);
    pthread_create(&t, NULL, core_holder, NULL);
    if (!wait_flag(&holder_in, 1))
        _exit(2);
    LWIP_ASSERT_CORE_LOCKED(); /* locked, but not by this thread */
}
#else
static void *marked_tcpip(void *arg)
{
    (void)arg;
    sys_mark_tcpip_thread();
    atomic_store(&holder_in, 1);
    for (;;)
        pause();
    return NULL;
}

static void child_core_unlocked(void)
{
    pthread_t t;

    atomic_store(&holder_in, 0);
    pthread_create(&t, NULL, marked_tcpip, NULL);
    if (!wait_flag(&holder_in, 1))
        _exit(2);
    LWIP_ASSERT_CORE_LOCKED(); /* not the tcpip thread */
}
#endif

static struct irq_line *core_line;

static void core_isr(void *arg)
{
    (void)arg;
    LWIP_ASSERT_CORE_LOCKED(); /* lwIP core code from an ISR */
}

static void child_core_from_isr(void)
{
#if LWIP_TCPIP_CORE_LOCKING
    sys_mutex_new(&lock_tcpip_core);
#endif
    LOCK_TCPIP_CORE(); /* the interrupted thread holds it: still refused */
    irq_line_set_target(core_line, pthread_self());
    irq_raise(core_line);
    for (int i = 0; i < 2000; i++)
        usleep(1000);
}

static void test_core_lock_check_accepts_the_holder(void **state)
{
    (void)state;
#if LWIP_TCPIP_CORE_LOCKING
    assert_int_equal(sys_mutex_new(&lock_tcpip_core), ERR_OK);
    LOCK_TCPIP_CORE();
    LWIP_ASSERT_CORE_LOCKED(); /* returns: a failed check ends the process */
    assert_true(mutex_held_by_me(&lock_tcpip_core));
    UNLOCK_TCPIP_CORE();
    sys_mutex_free(&lock_tcpip_core);
    sys_mutex_set_invalid(&lock_tcpip_core);
#else
    sys_mark_tcpip_thread();
    LWIP_ASSERT_CORE_LOCKED();
#endif
    LWIP_ASSERT_CORE_LOCKED(); /* before tcpip_init() made the lock: nothing to check */
}

static void test_core_lock_check_refuses_others(void **state)
{
    (void)state;
#if LWIP_TCPIP_CORE_LOCKING
    expect_fatal(child_core_unlocked, "lwIP core function called without the core lock");
    expect_fatal(child_core_held_elsewhere, "lwIP core function called without the core lock");
#else
    expect_fatal(child_core_unlocked, "lwIP core function called outside the tcpip thread");
#endif
    expect_fatal(child_core_from_isr, "lwIP core function called from an ISR");
}

/* ---- ISR rule breaks ------------------------------------------------------ */

static sys_mutex_t held_mutex;
static sys_sem_t never_sem;
static atomic_int isr_took_lock;
static atomic_int isr_waited;

static void lock_isr(void *arg)
{
    (void)arg;
    sys_mutex_lock(&held_mutex); /* held by the interrupted context */
    atomic_fetch_add(&isr_took_lock, 1);
    sys_mutex_unlock(&held_mutex);
}

static void wait_isr(void *arg)
{
    (void)arg;
    (void)sys_arch_sem_wait(&never_sem, 0);
    atomic_fetch_add(&isr_waited, 1);
}

static struct irq_line *lock_line;
static struct irq_line *wait_line;

static void wait_serviced(struct irq_line *l, uint64_t before)
{
    struct irq_line_stats st;

    for (int i = 0; i < 2000; i++) {
        irq_line_get_stats(l, &st);
        if (st.serviced > before)
            return;
        usleep(1000);
    }
    fail_msg("the ISR never ran");
}

static void test_rtos_policy_skips_held_lock(void **state)
{
    struct irq_line_stats st;
    uint64_t v0 = irq_violation_count();

    (void)state;
    irq_init(IRQ_POLICY_RTOS);
    assert_int_equal(sys_mutex_new(&held_mutex), ERR_OK);
    irq_line_set_target(lock_line, pthread_self());
    irq_line_get_stats(lock_line, &st);
    sys_mutex_lock(&held_mutex);
    irq_raise(lock_line);
    wait_serviced(lock_line, st.serviced);
    /* The ISR "took" the lock without waiting, as a semaphore-guarded RTOS
     * heap would, and its unlock did not release the owner's hold. */
    assert_int_equal(atomic_load(&isr_took_lock), 1);
    assert_true(mutex_held_by_me(&held_mutex));
    assert_int_equal(irq_violation_count(), v0 + 1);
    sys_mutex_unlock(&held_mutex);
    assert_false(mutex_held_by_me(&held_mutex));
    sys_mutex_free(&held_mutex);
    irq_init(IRQ_POLICY_DETECT);
}

static void test_rtos_policy_blocking_wait_in_isr(void **state)
{
    struct irq_line_stats st;
    uint64_t v0 = irq_violation_count();

    (void)state;
    irq_init(IRQ_POLICY_RTOS);
    assert_int_equal(sys_sem_new(&never_sem, 0), ERR_OK);
    irq_line_set_target(wait_line, pthread_self());
    irq_line_get_stats(wait_line, &st);
    irq_raise(wait_line);
    wait_serviced(wait_line, st.serviced);
    assert_int_equal(atomic_load(&isr_waited), 1); /* returned instead of hanging */
    assert_int_equal(irq_violation_count(), v0 + 1);
    sys_sem_free(&never_sem);
    irq_init(IRQ_POLICY_DETECT);
}

/* Under detect the same re-entry stops the process with a report naming it.
 * Run it in a child and read what it wrote. */
static void test_detect_policy_reports_reentry(void **state)
{
    int pipefd[2], status;
    char out[8192];
    ssize_t n, total = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        fatal_init(); /* the child's own reporter thread (fork copied only us) */
        irq_init(IRQ_POLICY_DETECT);
        sys_mutex_new(&held_mutex);
        irq_line_set_target(lock_line, pthread_self());
        sys_mutex_lock(&held_mutex);
        irq_raise(lock_line);
        for (int i = 0; i < 2000; i++)
            usleep(1000);
        _exit(0); /* not reached when detection works */
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], out + total, sizeof(out) - 1 - (size_t)total)) > 0)
        total += n;
    out[total] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), FATAL_EXIT_CODE);
    assert_non_null(strstr(out, "re-entered a lock held by the interrupted context"));
    assert_non_null(strstr(out, "sys_mutex_lock"));
    /* Both stacks: the ISR's (lock_isr) and the code it interrupted (the
     * test body, sleeping while it holds the mutex). */
    char *isr = strstr(out, "lwipd: ISR stack (thread");
    char *intr = strstr(out, "lwipd: interrupted context (thread");
    assert_non_null(isr);
    assert_non_null(intr);
    assert_true(isr < intr);
    if (!strstr(isr, "lock_isr"))
        fprintf(stderr, "CHILD OUTPUT:\n%s\n", out);
    assert_non_null(strstr(isr, "lock_isr"));
    assert_non_null(strstr(intr, "test_detect_policy_reports_reentry"));
}

/* ---- an IRQ that follows a lock (--irq-target stack) --------------------- */

static sys_mutex_t cpu_mutex; /* plays lwIP's core lock */
static struct irq_line *follow_line;
static atomic_int follow_runs, follow_tid, follow_held;
static atomic_int b_ready, b_go, b_done;

static void follow_isr(void *arg)
{
    (void)arg;
    atomic_store(&follow_tid, (int)base_gettid());
    atomic_store(&follow_held, mutex_held_by_me(&cpu_mutex));
    atomic_fetch_add(&follow_runs, 1);
}

/* B holds the "core lock" last, then has the IRQ signal blocked, so the
 * signal aimed at it (the last owner) waits; when B lets it in, the lock has
 * moved to the main thread, and the IRQ must be passed on there. */
static void *follow_thread_b(void *arg)
{
    sigset_t set, old;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, irq_line_signo(follow_line));
    pthread_sigmask(SIG_BLOCK, &set, &old);
    sys_mutex_lock(&cpu_mutex);
    sys_mutex_unlock(&cpu_mutex);
    atomic_store(&b_ready, 1);
    wait_flag(&b_go, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL); /* the pending IRQ lands here */
    wait_flag(&b_done, 1);
    return NULL;
}

static void test_irq_follows_the_lock(void **state)
{
    struct irq_line_stats st;
    pthread_t b;
    int self = (int)base_gettid();

    (void)state;
    assert_int_equal(sys_mutex_new(&cpu_mutex), ERR_OK);
    irq_line_set_target(follow_line, pthread_self());
    irq_line_follow_lock(follow_line, &cpu_mutex);
    assert_int_equal(pthread_create(&b, NULL, follow_thread_b, NULL), 0);
    assert_true(wait_flag(&b_ready, 1));

    /* Forwarded: raised at B (the last owner), serviced by the owner. */
    irq_raise(follow_line);
    sys_mutex_lock(&cpu_mutex);
    atomic_store(&b_go, 1);
    assert_true(wait_flag(&follow_runs, 1));
    sys_mutex_unlock(&cpu_mutex);
    assert_int_equal(atomic_load(&follow_tid), self);
    assert_true(atomic_load(&follow_held));
    irq_line_get_stats(follow_line, &st);
    assert_int_equal(st.forwarded, 1); /* B -> here */
    assert_int_equal(st.serviced, 1);

    /* Nobody inside: the ISR runs at the last owner (this thread) and holds
     * the lock while it runs, so no thread enters meanwhile; then it is free. */
    irq_raise(follow_line);
    assert_true(wait_flag(&follow_runs, 2));
    assert_int_equal(atomic_load(&follow_tid), self);
    assert_true(atomic_load(&follow_held));
    assert_int_equal(mutex_owner(&cpu_mutex, false), 0);
    assert_int_equal(mutex_owner(&cpu_mutex, true), self);

    atomic_store(&b_done, 1);
    pthread_join(b, NULL);
    irq_line_follow_lock(follow_line, NULL);
    sys_mutex_free(&cpu_mutex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_lock_check_accepts_the_holder),
        cmocka_unit_test(test_core_lock_check_refuses_others),
        cmocka_unit_test(test_rtos_policy_skips_held_lock),
        cmocka_unit_test(test_rtos_policy_blocking_wait_in_isr),
        cmocka_unit_test(test_detect_policy_reports_reentry),
        cmocka_unit_test(test_irq_follows_the_lock),
    };

    fatal_init();
    irq_init(IRQ_POLICY_DETECT);
    irq_set_violation_hook(fatal_on_irq_violation, NULL);
    lock_line = irq_line_new("lock", lock_isr, NULL);
    wait_line = irq_line_new("wait", wait_isr, NULL);
    follow_line = irq_line_new("follow", follow_isr, NULL);
    core_line = irq_line_new("core", core_isr, NULL);
    if (!lock_line || !wait_line || !follow_line || !core_line)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
