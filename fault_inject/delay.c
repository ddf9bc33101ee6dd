/* SPDX-License-Identifier: MIT */
/* The delay line.
 *
 * Design note
 * -----------
 * Held frames are copies, kept in a binary min-heap on (due time, arrival
 * order) under one mutex. One thread sleeps on a condition variable until
 * the earliest frame is due (CLOCK_MONOTONIC, the clock of base_now_ns()),
 * pops it and hands it back through the release callback without the lock
 * held. A reorder hold waits for a count of other frames in its direction
 * rather than for a time: each passing frame counts them down
 * (delay_passed), and one that reaches zero becomes due at once.
 */
#define _GNU_SOURCE
#include "fault_inject/delay.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/base.h"
#include "base/thread.h"

#define DELAY_MAX 16384 /* frames held at once */

struct held {
    uint64_t due_ns;
    uint64_t seq; /* FIFO among equal due times */
    enum fault_dir dir;
    unsigned left; /* reorder: frames still to pass first (0: time only) */
    size_t len;
    uint8_t data[];
};

struct delay_line {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct held **heap;
    size_t nheld;
    uint64_t seq;
    bool stop;
    pthread_t thread;
    delay_release_cb release;
    void *arg;
    atomic_uint_fast64_t overflow, released;
};

static bool earlier(const struct held *a, const struct held *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

/* Move entry I towards the root while it is earlier than its parent. */
static void sift_up(struct delay_line *dl, size_t i)
{
    while (i > 0 && earlier(dl->heap[i], dl->heap[(i - 1) / 2])) {
        struct held *t = dl->heap[i];
        dl->heap[i] = dl->heap[(i - 1) / 2];
        dl->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void heap_push(struct delay_line *dl, struct held *h)
{
    dl->heap[dl->nheld] = h;
    sift_up(dl, dl->nheld++);
}

static struct held *heap_pop(struct delay_line *dl)
{
    struct held *top = dl->heap[0];
    size_t i = 0;

    dl->heap[0] = dl->heap[--dl->nheld];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < dl->nheld && earlier(dl->heap[l], dl->heap[m]))
            m = l;
        if (r < dl->nheld && earlier(dl->heap[r], dl->heap[m]))
            m = r;
        if (m == i)
            break;
        struct held *t = dl->heap[i];
        dl->heap[i] = dl->heap[m];
        dl->heap[m] = t;
        i = m;
    }
    return top;
}

static void hand_back(struct delay_line *dl, struct held *h)
{
    atomic_fetch_add_explicit(&dl->released, 1, memory_order_relaxed);
    dl->release(dl->arg, h->dir, h->data, h->len);
    free(h);
}

static void *delay_thread(void *arg)
{
    struct delay_line *dl = arg;

    thread_register_current("fault-delay"); /* named, and in crash reports */
    pthread_mutex_lock(&dl->lock);
    while (!dl->stop) {
        if (dl->nheld == 0) {
            pthread_cond_wait(&dl->cond, &dl->lock);
            continue;
        }
        struct held *top = dl->heap[0];
        if (top->due_ns > base_now_ns()) {
            struct timespec ts = {(time_t)(top->due_ns / 1000000000u),
                                  (long)(top->due_ns % 1000000000u)};
            pthread_cond_timedwait(&dl->cond, &dl->lock, &ts);
            continue;
        }
        heap_pop(dl);
        pthread_mutex_unlock(&dl->lock);
        hand_back(dl, top);
        pthread_mutex_lock(&dl->lock);
    }
    pthread_mutex_unlock(&dl->lock);
    thread_unregister_current(); /* a SIGHUP's check-only injector ends here */
    return NULL;
}

/* Make a delay line and start its thread; due frames go to RELEASE(ARG, ...).
 * NULL after logging why. */
struct delay_line *delay_new(delay_release_cb release, void *arg)
{
    struct delay_line *dl = calloc(1, sizeof(*dl));
    pthread_condattr_t ca;
    int err;

    if (!dl || !(dl->heap = calloc(DELAY_MAX, sizeof(*dl->heap)))) {
        log_err("fault", "delay line: out of memory");
        free(dl);
        return NULL;
    }
    dl->release = release;
    dl->arg = arg;
    pthread_mutex_init(&dl->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&dl->cond, &ca);
    pthread_condattr_destroy(&ca);
    err = pthread_create(&dl->thread, NULL, delay_thread, dl);
    if (err) {
        log_err("fault", "delay line: cannot start its thread: %s", strerror(err));
        pthread_cond_destroy(&dl->cond);
        pthread_mutex_destroy(&dl->lock);
        free(dl->heap);
        free(dl);
        return NULL;
    }
    return dl;
}

/* Stop the thread and free the line; frames still held are dropped. */
void delay_free(struct delay_line *dl)
{
    if (!dl)
        return;
    pthread_mutex_lock(&dl->lock);
    dl->stop = true;
    pthread_cond_signal(&dl->cond);
    pthread_mutex_unlock(&dl->lock);
    pthread_join(dl->thread, NULL);
    while (dl->nheld)
        free(heap_pop(dl));
    pthread_cond_destroy(&dl->cond);
    pthread_mutex_destroy(&dl->lock);
    free(dl->heap);
    free(dl);
}

/* Copy DATA into the line for DIR, due at DUE_NS (base_now_ns() clock);
 * LEFT other frames of DIR must pass first (reorder). 0, or -ENOBUFS when
 * the line is full or out of memory (counted as an overflow). */
int delay_hold(struct delay_line *dl, enum fault_dir dir, const uint8_t *data, size_t len,
               uint64_t due_ns, unsigned left)
{
    struct held *h;

    pthread_mutex_lock(&dl->lock);
    if (dl->nheld >= DELAY_MAX || !(h = malloc(sizeof(*h) + len))) {
        pthread_mutex_unlock(&dl->lock);
        atomic_fetch_add_explicit(&dl->overflow, 1, memory_order_relaxed);
        return -ENOBUFS;
    }
    h->due_ns = due_ns;
    h->seq = dl->seq++;
    h->dir = dir;
    h->left = left;
    h->len = len;
    memcpy(h->data, data, len);
    heap_push(dl, h);
    pthread_cond_signal(&dl->cond);
    pthread_mutex_unlock(&dl->lock);
    return 0;
}

/* A frame passed in DIR: held reorder frames that waited for it are due now. */
void delay_passed(struct delay_line *dl, enum fault_dir dir)
{
    bool wake = false;
    uint64_t now = base_now_ns();

    pthread_mutex_lock(&dl->lock);
    for (size_t i = 0; i < dl->nheld; i++) {
        struct held *h = dl->heap[i];
        if (h->dir == dir && h->left > 0 && --h->left == 0) {
            h->due_ns = now; /* keys only decrease: sift up */
            sift_up(dl, i);
            wake = true;
        }
    }
    if (wake)
        pthread_cond_signal(&dl->cond);
    pthread_mutex_unlock(&dl->lock);
}

void delay_get_stats(struct delay_line *dl, struct delay_stats *out)
{
    pthread_mutex_lock(&dl->lock);
    out->held = dl->nheld;
    pthread_mutex_unlock(&dl->lock);
    out->overflow = atomic_load(&dl->overflow);
    out->released = atomic_load(&dl->released);
}
