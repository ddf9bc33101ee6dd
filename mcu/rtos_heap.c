/* SPDX-License-Identifier: MIT */
/* -Dheap=rtos: a small RTOS heap, the kind RT-Thread's port gives lwIP on
 * the board of the ISR heap re-entry: first-fit blocks in one arena,
 * guarded by a semaphore only (never by disabling interrupts). An ISR that
 * frees on top of a thread inside malloc/free wants the semaphore that
 * thread holds; irq_mutex_lock() reports it (--irq-policy detect) or,
 * like the board, goes on without it (rtos) and the free list is
 * corrupted. LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT changes
 * nothing here: it only concerns lwIP's own mem.c.
 *
 * Every block header carries a magic number and a state; malloc and free
 * check the headers they touch, so corruption is reported as such, close to
 * where it happened, instead of as a random crash later.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "mcu/rtos_heap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h" /* MEM_SIZE */

#include "base/log.h"
#include "mcu/irq.h"
#include "mcu/mutex.h"

#define RH_MAGIC 0x1ea0u
#define RH_ALIGN 8u
#define RH_MIN   16u

struct rh_block {
    uint32_t magic;
    uint32_t used;
    size_t next; /* arena offset of the following block */
    size_t prev; /* arena offset of the preceding block */
};

#define RH_HDR (((sizeof(struct rh_block) + RH_ALIGN - 1) / RH_ALIGN) * RH_ALIGN)

static struct {
    uint8_t *arena;
    size_t size;  /* offset of the end sentinel */
    size_t lfree; /* lowest free block */
    struct mutex lock;
    pthread_once_t once;
    rtos_heap_fault_cb fault;
    void *fault_arg;
} rh = {.once = PTHREAD_ONCE_INIT};

/* Who hears of a corrupted heap (see rtos_heap.h). Set before the first
 * allocation. */
void rtos_heap_set_fault_hook(rtos_heap_fault_cb cb, void *arg)
{
    rh.fault = cb;
    rh.fault_arg = arg;
}

static void __attribute__((noreturn)) fault(const char *kind, const char *message)
{
    if (rh.fault)
        rh.fault(rh.fault_arg, kind, message);
    log_write_safe(LOG_CRIT, kind, message);
    abort();
}

static struct rh_block *blk(size_t off)
{
    return (struct rh_block *)(void *)(rh.arena + off);
}

static size_t off_of(const struct rh_block *b)
{
    return (size_t)((const uint8_t *)b - rh.arena);
}

static void corrupt(const char *what, const struct rh_block *b)
{
    char msg[200];

    snprintf(msg, sizeof(msg), "rtos heap corrupted: %s (block at offset %zu: magic %#x, used %u)",
             what, off_of(b), b->magic, b->used);
    fault("heap-corruption", msg);
}

static void check(const struct rh_block *b, const char *where)
{
    if (b->magic != RH_MAGIC || b->used > 1 || b->next > rh.size || b->next <= off_of(b))
        corrupt(where, b);
}

/* Create the arena and its semaphore (the lock is named "mutex from
 * rtos_heap_init" in reports). Called once, at the first allocation. */
void rtos_heap_init(void)
{
    size_t size = ((size_t)MEM_SIZE / RH_ALIGN) * RH_ALIGN;

    rh.arena = aligned_alloc(RH_ALIGN, size + RH_HDR);
    if (!rh.arena)
        fault("heap", "rtos heap: cannot create the arena");
    mutex_init(&rh.lock, "mutex from rtos_heap_init");
    rh.size = size;
    *blk(0) = (struct rh_block){RH_MAGIC, 0, size, 0};
    *blk(size) = (struct rh_block){RH_MAGIC, 1, size + RH_HDR, 0}; /* end sentinel */
    rh.lfree = 0;
}

/* The heap's semaphore, taken as the board takes it: an ISR that finds it
 * held breaks a rule (irq_mutex_lock() and --irq-policy decide). */
static void lock(void)
{
    if (irq_mutex_lock(&rh.lock, "sys_mutex_lock") != 0)
        fault("lwip-bug", "rtos heap: the owner locks its mutex again (self-deadlock)");
}

static void unlock(void)
{
    if (irq_mutex_unlock(&rh.lock) != 0)
        fault("lwip-bug", "rtos heap: mutex not held by the caller");
}

static void rh_init_once(void)
{
    pthread_once(&rh.once, rtos_heap_init);
}

/* Merge B with free neighbours. Lock held. */
static void plug_holes(struct rh_block *b)
{
    struct rh_block *n = blk(b->next);

    check(n, "next block while freeing");
    if (b->next != rh.size && !n->used) {
        if (rh.lfree == b->next)
            rh.lfree = off_of(b);
        b->next = n->next;
        blk(n->next)->prev = off_of(b);
        n->magic = 0;
    }
    if (off_of(b) != 0) {
        struct rh_block *p = blk(b->prev);
        check(p, "previous block while freeing");
        if (!p->used) {
            if (rh.lfree == off_of(b))
                rh.lfree = b->prev;
            p->next = b->next;
            blk(b->next)->prev = b->prev;
            b->magic = 0;
        }
    }
}

void *rtos_heap_malloc(size_t size)
{
    void *ret = NULL;

    rh_init_once();
    if (size == 0 || size > rh.size)
        return NULL;
    size = (size + RH_ALIGN - 1) / RH_ALIGN * RH_ALIGN;
    if (size < RH_MIN)
        size = RH_MIN;
    lock();
    for (size_t off = rh.lfree; off < rh.size;) {
        struct rh_block *b = blk(off);

        check(b, "walking the free list");
        if (!b->used && b->next - off - RH_HDR >= size) {
            if (b->next - off - RH_HDR >= size + RH_HDR + RH_MIN) {
                size_t split = off + RH_HDR + size;
                *blk(split) = (struct rh_block){RH_MAGIC, 0, b->next, off};
                blk(b->next)->prev = split;
                b->next = split;
            }
            b->used = 1;
            if (off == rh.lfree) {
                while (rh.lfree < rh.size && blk(rh.lfree)->used)
                    rh.lfree = blk(rh.lfree)->next;
            }
            ret = (uint8_t *)b + RH_HDR;
            break;
        }
        off = b->next;
    }
    unlock();
    return ret;
}

void *rtos_heap_calloc(size_t count, size_t size)
{
    void *p;

    if (size && count > (size_t)-1 / size)
        return NULL;
    p = rtos_heap_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void rtos_heap_free(void *p)
{
    struct rh_block *b;

    if (!p)
        return;
    rh_init_once();
    b = (struct rh_block *)(void *)((uint8_t *)p - RH_HDR);
    lock();
    if ((uint8_t *)b < rh.arena || off_of(b) >= rh.size)
        corrupt("free of a pointer outside the heap", b);
    check(b, "freeing");
    if (!b->used)
        corrupt("double free", b);
    b->used = 0;
    if (off_of(b) < rh.lfree)
        rh.lfree = off_of(b);
    plug_holes(b);
    unlock();
}
