/* SPDX-License-Identifier: MIT */
/* Allocation-failure rules.
 *
 * Design note
 * -----------
 * lwIP is linked with -Wl,--wrap for memp_malloc (memp_malloc_fn under
 * MEMP_OVERFLOW_CHECK), mem_malloc, mem_calloc and ethernet_input; the
 * wrappers (alloc_wrap.c) ask alloc_decide() whether this allocation fails.
 * They run wherever lwIP allocates: the tcpip thread, the RX thread under
 * the core lock, application threads, and the emulated TX-complete ISR, a
 * signal handler that may interrupt any of them. So the decision takes no
 * lock and calls no malloc: rules sit in a fixed array of atomic pointers,
 * counters are atomics, and the coin is a hash of (seed, rule id, the
 * rule's match count) instead of a shared PRNG state: the Nth allocation a
 * rule matches gets the same coin in every run with the same --seed.
 *
 * A rule is unlinked by the control thread, which then waits for a grace
 * period (every decision that may still see it has ended) before freeing
 * it: deciders count themselves in one of two counters chosen by a global
 * epoch; the remover flips the epoch and waits for the old counter to drain.
 *
 * Only the armed set (alloc_set_arm: the daemon's live injector) decides;
 * a set made to check a rule file never does.
 *
 * Filters: while lwIP's input processes a frame (the ethernet_input
 * wrapper), every filtered rule's BPF program runs once over the frame and
 * the results go into a thread-local mask; a filtered rule applies to the
 * allocations of that thread while the mask has its bit, never in the ISR
 * (which interrupted the frame but does not work for it).
 *
 * Events: one "fault" event per rule at its 1st, 2nd, 4th, 8th, ...
 * failure (n says how many so far), not from the ISR (counted only).
 */
#define _GNU_SOURCE
#include "fault_inject/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/events.h"
#include "base/log.h"
#include "fault_inject/alloc_pools.h"
#include "lwip/memp.h"
#include "mcu/irq.h"

#define GRACE_POLL_NS 50000L /* a grace period is polled every 50 us ... */
#define GRACE_POLLS   20000  /* ... for at most a second */

struct alloc_set {
    uint64_t seed;
    pthread_mutex_t lock; /* the control side: add, del, clear, list */
    _Atomic(struct fault_rule *) slot[ALLOC_MAX_RULES];
    atomic_int nrules;
};

static struct {
    _Atomic(struct alloc_set *) armed;
    atomic_uint epoch;
    atomic_int readers[2];
    atomic_int rules, filtered; /* in all sets: the fast path's "nothing to do" */
    pthread_mutex_t grace_lock;
    atomic_uint_fast64_t injected[MEMP_MAX + 1]; /* [0]: the heap, [1 + memp_t]: pools */
} the_alloc = {.grace_lock = PTHREAD_MUTEX_INITIALIZER};

static __thread struct alloc_frame tls_frame;

/* ---- grace periods ------------------------------------------------------- */

/* Enter a decision: returns the counter to leave with reader_leave(). */
static unsigned reader_enter(void)
{
    for (;;) {
        unsigned e = atomic_load(&the_alloc.epoch) & 1;

        atomic_fetch_add(&the_alloc.readers[e], 1);
        if ((atomic_load(&the_alloc.epoch) & 1) == e)
            return e;
        atomic_fetch_sub(&the_alloc.readers[e], 1); /* a remover flipped it: go again */
    }
}

static void reader_leave(unsigned e)
{
    atomic_fetch_sub(&the_alloc.readers[e], 1);
}

/* Wait until no decision that began before now runs (control thread).
 * False after a second of waiting (a decider stuck: keep what it may see). */
static bool grace_wait(void)
{
    struct timespec ts = {0, GRACE_POLL_NS};
    bool ok = false;

    pthread_mutex_lock(&the_alloc.grace_lock);
    unsigned old = atomic_fetch_add(&the_alloc.epoch, 1) & 1;
    for (int k = 0; k < GRACE_POLLS; k++) {
        if (atomic_load(&the_alloc.readers[old]) == 0) {
            ok = true;
            break;
        }
        nanosleep(&ts, NULL);
    }
    pthread_mutex_unlock(&the_alloc.grace_lock);
    if (!ok)
        log_warn("fault", "an allocation decision did not end within a second; "
                          "its rule stays allocated");
    return ok;
}

/* ---- the rule set (control side) ----------------------------------------- */

/* A set of alloc rules whose coins derive from SEED; NULL after logging. */
struct alloc_set *alloc_set_new(uint64_t seed)
{
    struct alloc_set *s = calloc(1, sizeof(*s));

    if (!s) {
        log_err("fault", "out of memory");
        return NULL;
    }
    s->seed = seed;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

/* Disarm S if armed, then free it and its rules. */
void alloc_set_free(struct alloc_set *s)
{
    struct alloc_set *expect = s;

    if (!s)
        return;
    if (atomic_compare_exchange_strong(&the_alloc.armed, &expect, NULL))
        grace_wait();
    alloc_set_clear(s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Make S the set the wrappers decide by (NULL: none). */
void alloc_set_arm(struct alloc_set *s)
{
    if (atomic_exchange(&the_alloc.armed, s) != s)
        grace_wait();
}

/* Add parsed rule R (its id set) to S, which owns it from now on. 0, or
 * -ENOSPC with ERR set (R is then the caller's). */
int alloc_set_add(struct alloc_set *s, struct fault_rule *r, char *err, size_t errlen)
{
    int ret = -ENOSPC;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ALLOC_MAX_RULES; i++) {
        if (atomic_load(&s->slot[i]))
            continue;
        if (r->has_prog)
            atomic_fetch_add(&the_alloc.filtered, 1);
        atomic_fetch_add(&s->nrules, 1);
        atomic_fetch_add(&the_alloc.rules, 1);
        atomic_store(&s->slot[i], r);
        ret = 0;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    if (ret) {
        snprintf(err, errlen, "at most %d alloc rules", ALLOC_MAX_RULES);
        return ret;
    }
    events_emit("fault-rule", "\"op\":\"add\",\"id\":%u,\"dir\":\"alloc\",\"action\":\"%s\"", r->id,
                fault_action_name(r->action));
    return 0;
}

/* Unlink slot I of S (lock held); returns its rule, NULL if empty. */
static struct fault_rule *unlink_slot(struct alloc_set *s, int i)
{
    struct fault_rule *r = atomic_exchange(&s->slot[i], NULL);

    if (r) {
        atomic_fetch_sub(&s->nrules, 1);
        atomic_fetch_sub(&the_alloc.rules, 1);
        if (r->has_prog)
            atomic_fetch_sub(&the_alloc.filtered, 1);
    }
    return r;
}

/* Free unlinked rules RS (N of them) once no decision can see them. */
static void retire(struct alloc_set *s, struct fault_rule **rs, int n)
{
    if (n == 0 || (atomic_load(&the_alloc.armed) == s && !grace_wait()))
        return;
    for (int i = 0; i < n; i++) {
        fault_rule_release(rs[i]);
        free(rs[i]);
    }
}

/* Remove rule ID from S. 0 or -ENOENT. */
int alloc_set_del(struct alloc_set *s, unsigned id)
{
    struct fault_rule *r = NULL;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ALLOC_MAX_RULES && !r; i++) {
        struct fault_rule *c = atomic_load(&s->slot[i]);
        if (c && c->id == id)
            r = unlink_slot(s, i);
    }
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return -ENOENT;
    retire(s, &r, 1);
    events_emit("fault-rule", "\"op\":\"del\",\"id\":%u", id);
    return 0;
}

/* Remove every rule of S. */
void alloc_set_clear(struct alloc_set *s)
{
    struct fault_rule *rs[ALLOC_MAX_RULES];
    int n = 0;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ALLOC_MAX_RULES; i++) {
        struct fault_rule *r = unlink_slot(s, i);
        if (r)
            rs[n++] = r;
    }
    pthread_mutex_unlock(&s->lock);
    retire(s, rs, n);
}

/* Call CB for each rule of S, in slot order. Returns how many. */
size_t alloc_set_list(struct alloc_set *s, alloc_list_cb cb, void *arg)
{
    size_t n = 0;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ALLOC_MAX_RULES; i++) {
        struct fault_rule *r = atomic_load(&s->slot[i]);
        if (r) {
            cb(arg, r);
            n++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- decisions (any thread, the ISR) -------------------------------------- */

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The coin of the Nth allocation rule ID matched, in [0, 1). */
static double coin(uint64_t seed, unsigned id, uint64_t n)
{
    return (double)(mix(seed ^ mix((uint64_t)id ^ mix(n))) >> 11) * 0x1p-53;
}

/* Does rule R (in slot I) make this allocation of POOL fail? Counts it. */
static bool rule_decide(const struct alloc_set *s, struct fault_rule *r, int i, int pool, bool isr)
{
    uint64_t n;

    if (r->pool != pool)
        return false;
    if (r->has_prog && (isr || !tls_frame.in_frame || !(tls_frame.mask & (1ull << i))))
        return false;
    n = atomic_fetch_add_explicit(&r->matched, 1, memory_order_relaxed) + 1;
    if (r->action == FA_ALLOC_FAIL_EVERY)
        return n % r->n == 0;
    return coin(s->seed, r->id, n) < r->p;
}

/* Must this allocation from POOL (a memp_t, or ALLOC_POOL_HEAP) fail? Runs
 * every rule of the armed set for POOL (each counts the allocations it
 * matched and the failures it chose); fails when any rule says so.
 * Async-signal-safe. */
bool alloc_decide(int pool)
{
    struct alloc_set *s;
    bool fail = false, isr;
    unsigned ev_id = 0, e;
    uint64_t ev_n = 0, ev_match = 0;

    /* no rule anywhere (the common case): not even the reader count */
    if (!atomic_load_explicit(&the_alloc.rules, memory_order_relaxed) ||
        !atomic_load_explicit(&the_alloc.armed, memory_order_relaxed))
        return false;
    e = reader_enter();
    s = atomic_load(&the_alloc.armed);
    isr = irq_in_isr();
    for (int i = 0;
         s && atomic_load_explicit(&s->nrules, memory_order_relaxed) && i < ALLOC_MAX_RULES; i++) {
        struct fault_rule *r = atomic_load(&s->slot[i]);
        uint64_t acted;

        if (!r || !rule_decide(s, r, i, pool, isr))
            continue;
        fail = true;
        acted = atomic_fetch_add_explicit(&r->acted, 1, memory_order_relaxed) + 1;
        if (!isr && !ev_id && (acted & (acted - 1)) == 0) { /* 1, 2, 4, 8, ... */
            ev_id = r->id;
            ev_n = acted;
            ev_match = atomic_load_explicit(&r->matched, memory_order_relaxed);
        }
    }
    reader_leave(e);
    if (!fail)
        return false;
    atomic_fetch_add_explicit(&the_alloc.injected[pool + 1], 1, memory_order_relaxed);
    if (ev_id)
        events_emit("fault",
                    "\"dir\":\"alloc\",\"rule\":%u,\"action\":\"fail\",\"pool\":\"%s\","
                    "\"n\":%llu,\"match\":%llu",
                    ev_id, alloc_pool_name(pool), (unsigned long long)ev_n,
                    (unsigned long long)ev_match);
    return true;
}

/* May the armed set have a filtered rule (is a frame worth looking at)?
 * Counts every set's (a set is only read inside a decision's grace). */
bool alloc_frame_filters(void)
{
    return atomic_load_explicit(&the_alloc.filtered, memory_order_relaxed) > 0 &&
           atomic_load_explicit(&the_alloc.armed, memory_order_relaxed) != NULL;
}

/* lwIP's input begins processing a frame of LEN bytes, the first CAPLEN in
 * DATA: run each filtered rule's program over it once, for the decisions
 * this thread makes until alloc_frame_end(SAVED). */
void alloc_frame_begin(const uint8_t *data, size_t caplen, size_t len, struct alloc_frame *saved)
{
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)caplen, .len = (bpf_u_int32)len};
    struct alloc_set *s;
    unsigned e;

    *saved = tls_frame;
    tls_frame.in_frame = true;
    tls_frame.mask = 0;
    e = reader_enter();
    s = atomic_load(&the_alloc.armed);
    for (int i = 0; s && i < ALLOC_MAX_RULES; i++) {
        struct fault_rule *r = atomic_load(&s->slot[i]);

        if (r && r->has_prog && pcap_offline_filter(&r->prog, &h, data) != 0)
            tls_frame.mask |= 1ull << i;
    }
    reader_leave(e);
}

/* The frame is done: back to what alloc_frame_begin() saved. */
void alloc_frame_end(const struct alloc_frame *saved)
{
    tls_frame = *saved;
}

/* How many allocations from POOL the rules made fail, since the start. */
uint64_t alloc_injected(int pool)
{
    if (pool < ALLOC_POOL_HEAP || pool >= (int)MEMP_MAX)
        return 0;
    return atomic_load_explicit(&the_alloc.injected[pool + 1], memory_order_relaxed);
}
