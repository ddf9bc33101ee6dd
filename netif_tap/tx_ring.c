/* SPDX-License-Identifier: MIT */
/* TX descriptor ring, "DMA" thread and TX-complete interrupt.
 *
 * Design note
 * -----------
 * This models an EMAC. linkoutput() takes a reference on the frame's pbuf
 * chain (pbuf_ref) and fills the next descriptor; the frame goes to the TAP
 * with writev() over the chain (no copy) - from linkoutput itself when the
 * ring was idle (the doorbell: no thread hop for a lone frame), else from
 * the DMA thread, in parallel with the stack. The DMA thread marks frames
 * complete and raises the TX-complete IRQ, a real-time signal aimed at the
 * thread that plays the CPU (by default whoever runs lwIP). The ISR then gives the
 * completed pbufs back according to --txc-free:
 *   isr      pbuf_free() in the ISR. With lwIP's heap and
 *            LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT=0 this is the ISR heap
 *            re-entry bug: mem_free() may re-enter the heap the interrupted
 *            code is in.
 *   callback pbuf_free_callback() in the ISR: a message to the tcpip thread
 *            (the usual fix for ISR heap re-entry). When the message pool or
 *            mailbox is full
 *            the pbuf is *not* freed; reclaim stops there and is retried.
 *   task     the ISR only posts one pre-allocated message; the tcpip thread
 *            frees everything completed so far.
 * A full ring returns ERR_MEM to lwIP, as a driver out of descriptors does,
 * after one inline reclaim attempt, and a housekeeping sweep in the tcpip
 * thread picks up leftovers, so a failed or skipped reclaim never wedges it.
 * Link down while frames are queued: the DMA engine completes them without
 * sending them (counted in link_down).
 *
 * The ring owns its state (struct tx_ring); the wire, the link state and the
 * fault injector's say on interrupts are the driver's, reached through
 * struct tx_ring_ops, so the ring builds and is tested on its own.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "netif_tap/tx_ring.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "lwip/stats.h"

#include "mcu/irq.h"
#include "port/lwip_compat.h"
#include "base/log.h"
#include "base/base.h"
#include "base/thread.h"

/* Frames up to this size go on the wire from linkoutput on an idle ring. */
#define TX_DOORBELL_MAX 256u

/* How long linkoutput waits for a free TX descriptor before ERR_MEM. */
#define TX_FULL_WAIT_NS 2000000u

/* The most pbufs of one frame DRIVER_BUG_TX_FREE_SEGMENTS gives back one by
 * one, as a driver with one DMA descriptor per pbuf would (longer chains:
 * the rest goes with the last one). */
#define TX_BUG_SEGS 64

/* DRIVER_BUG_TX_FREE_SEGMENTS: give back each pbuf of the chain P by itself,
 * as a driver does that put every pbuf of a chain in a descriptor of its own
 * and frees descriptors one by one. Only the head holds the ring's reference
 * (pbuf_ref in tx_ring_enqueue), so freeing it frees the whole chain and
 * every later segment is freed a second time: lwIP's "pbuf_free: p->ref > 0"
 * assert, or pool corruption without asserts. A frame of one pbuf is given
 * back correctly. */
static void free_segments(struct tx_ring *r, enum txc_free how, struct pbuf *p)
{
    struct pbuf *seg[TX_BUG_SEGS];
    unsigned n = 0;

    for (struct pbuf *q = p; q && n < TX_BUG_SEGS; q = q->next)
        seg[n++] = q; /* the pointers the descriptors hold */
    if (n > 1)
        ctr_add(&r->ctr.bug_acts, 1);
    for (unsigned i = 0; i < n; i++) {
        if (how != TXC_FREE_CALLBACK)
            pbuf_free(seg[i]);
        else if (pbuf_free_callback(seg[i]) != ERR_OK)
            ctr_add(&r->ctr.free_callback_fail, 1);
    }
    ctr_add(how == TXC_FREE_ISR        ? &r->ctr.free_isr
            : how == TXC_FREE_CALLBACK ? &r->ctr.free_callback
                                       : &r->ctr.free_task,
            1);
}

/* Give back completed descriptors [tail, dma). Runs in the ISR (isr,
 * callback) or in a thread (task, inline, sweep). Only one reclaimer runs at
 * a time: a second one (an ISR that interrupted a thread-side reclaim, or one
 * on another CPU) returns at once and leaves the work to the running one, so
 * nobody ever waits here. Returns the count freed. */
static unsigned ring_reclaim(struct tx_ring *r, enum txc_free how, uint64_t completed_before)
{
    unsigned tail, done, n = 0;

    if (atomic_flag_test_and_set_explicit(&r->reclaiming, memory_order_acquire))
        return 0;
    tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    done = atomic_load_explicit(&r->dma, memory_order_acquire);

    while (tail != done) {
        struct tx_desc *d = &r->desc[tail & r->mask];

        if (completed_before && d->due_ns > completed_before)
            break;
        if (r->cfg.bugs & DRIVER_BUG_TX_FREE_SEGMENTS) {
            free_segments(r, how, d->p);
        } else if (how == TXC_FREE_CALLBACK) {
            if (pbuf_free_callback(d->p) != ERR_OK) {
                ctr_add(&r->ctr.free_callback_fail, 1);
                /* The correct driver keeps the descriptor and tries again
                 * later; DRIVER_BUG_FREE_CALLBACK_DROP forgets the pbuf (a
                 * leak for good), as drivers that ignore the error do. */
                if (!(r->cfg.bugs & DRIVER_BUG_FREE_CALLBACK_DROP))
                    break;
                ctr_add(&r->ctr.bug_acts, 1);
            } else {
                ctr_add(&r->ctr.free_callback, 1);
            }
        } else {
            pbuf_free(d->p);
            ctr_add(how == TXC_FREE_ISR ? &r->ctr.free_isr : &r->ctr.free_task, 1);
        }
        d->p = NULL;
        tail++;
        n++;
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    atomic_flag_clear_explicit(&r->reclaiming, memory_order_release);
    return n;
}

/* tcpip thread, from the message the ISR posted (task policy). */
static void reclaim_task(void *arg)
{
    struct tx_ring *r = arg;

    atomic_store(&r->reclaim_posted, false);
    ring_reclaim(r, TXC_FREE_TASK, 0);
}

/* Housekeeping (tcpip thread, every few hundred ms): give back what a
 * failed pbuf_free_callback() or a busy reclaimer left behind, once it has
 * waited for an interrupt for a second (a lost IRQ stalls the ring that
 * long, visibly, and not for ever). */
void tx_ring_sweep(struct tx_ring *r)
{
    uint64_t now = base_now_ns();

    if (r->desc && now > 1000000000u)
        ctr_add(&r->ctr.reclaimed_inline, ring_reclaim(r, TXC_FREE_TASK, now - 1000000000u));
}

static void test_isr_noop(void *arg)
{
    (void)arg;
}

/* --test-hooks (lwipctl test-isr-post): a driver whose ISR hands work to
 * the tcpip thread with tcpip_callback() - sys_mbox_post(), which waits when
 * the mailbox is full - instead of tcpip_callbackmsg_trycallback_fromisr().
 * It works until the day the mailbox is full; the ISR checker names it on
 * the first call. Armed here, done by the next TX-complete ISR. */
void tx_ring_test_isr_post(struct tx_ring *r)
{
    atomic_store(&r->test_isr_post, true);
}

/* The TX-complete ISR. Runs as a signal handler on top of whatever the target
 * thread was doing. */
static void txc_isr(void *arg)
{
    struct tx_ring *r = arg;
    err_t err;

    ctr_add(&r->ctr.isr_runs, 1);
    if (atomic_load_explicit(&r->test_isr_post, memory_order_relaxed) &&
        atomic_exchange(&r->test_isr_post, false))
        tcpip_callback(test_isr_noop, NULL); /* the mistake: a post that may block */
    if (r->ops->isr)
        r->ops->isr(r->arg);
    switch (r->cfg.free) {
    case TXC_FREE_ISR:
    case TXC_FREE_CALLBACK:
        ring_reclaim(r, r->cfg.free, 0);
        break;
    case TXC_FREE_TASK:
        if (atomic_exchange(&r->reclaim_posted, true))
            break;
#if LWIPD_LWIP_AT_LEAST(2, 1)
        err = tcpip_callbackmsg_trycallback_fromisr(r->reclaim_msg);
#else
        err = tcpip_trycallback(r->reclaim_msg);
#endif
        if (err != ERR_OK)
            atomic_store(&r->reclaim_posted, false); /* the next IRQ retries */
        break;
    }
}

/* Descriptors queued and not yet given back. */
unsigned tx_ring_used(const struct tx_ring *r)
{
    return atomic_load(&r->head) - atomic_load(&r->tail);
}

/* Put the queued frames [wire, head) on the wire and stamp each with its
 * completion time (a ring completes in order). One writer at a time: the DMA
 * thread, or linkoutput on an idle ring (tx_ring_enqueue); whoever finds the
 * other writing leaves the frames to it. Returns false in that case. */
static bool ring_write(struct tx_ring *r)
{
    const uint64_t delay_ns = (uint64_t)r->cfg.delay_us * 1000u;
    const uint64_t jitter_ns = (uint64_t)r->cfg.jitter_us * 1000u;
    unsigned w, head;

    if (atomic_flag_test_and_set_explicit(&r->writing, memory_order_acquire))
        return false;
    w = atomic_load_explicit(&r->wire, memory_order_relaxed);
    head = atomic_load_explicit(&r->head, memory_order_acquire);
    for (; w != head; w++) {
        struct tx_desc *desc = &r->desc[w & r->mask];
        uint64_t due;

        /* IRQs masked: from linkoutput this runs in a thread the TX-complete
         * IRQ targets, and the capture and fault injector are lwipd's own
         * instruments, not firmware code an ISR could preempt. */
        irq_disable();
        if (r->ops->link_up(r->arg))
            r->ops->write(r->arg, desc->p);
        else
            ctr_add(&r->ctr.link_down, 1);
        irq_enable();
        due = base_now_ns() + delay_ns + (jitter_ns ? port_rand() % jitter_ns : 0);
        if (due < r->last_due)
            due = r->last_due;
        desc->due_ns = r->last_due = due;
        atomic_store_explicit(&r->wire, w + 1, memory_order_release);
    }
    atomic_flag_clear_explicit(&r->writing, memory_order_release);
    return true;
}

/* Queue P for transmission (linkoutput, under lwIP's core lock). Takes a
 * reference; the pbuf is given back after completion. 0, or -ENOBUFS when
 * no descriptor is free even after an inline reclaim and a short wait
 * (nothing is queued then; the driver answers lwIP with ERR_MEM). */
int tx_ring_enqueue(struct tx_ring *r, struct pbuf *p)
{
    unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned used = head - atomic_load_explicit(&r->tail, memory_order_acquire);

    if (used >= r->size) {
        /* No free descriptor. Like an EMAC driver polling its ring, give the
         * DMA engine up to TX_FULL_WAIT_NS to complete one rather than
         * bouncing ERR_MEM at once: lwIP's TCP only retries from its 250 ms
         * timer, which turns a brief back-pressure into a stall. */
        uint64_t deadline = 0;

        for (;;) {
            ctr_add(&r->ctr.reclaimed_inline, ring_reclaim(r, TXC_FREE_TASK, 0));
            used = head - atomic_load_explicit(&r->tail, memory_order_acquire);
            if (used < r->size)
                break;
            uint64_t now = base_now_ns();
            if (!deadline) {
                deadline = now + TX_FULL_WAIT_NS;
                ctr_add(&r->ctr.full_waits, 1);
            } else if (now >= deadline) {
                ctr_add(&r->ctr.full, 1);
                LINK_STATS_INC(link.memerr);
                return -ENOBUFS;
            }
            while (sem_trywait(&r->space) == 0) /* posts from earlier waits */
                ;
            /* seq_cst, as the DMA thread's side: either it sees the waiter
             * or we see its completion. */
            atomic_store(&r->space_waiter, 1);
            if (atomic_load(&r->dma) == atomic_load(&r->tail)) { /* nothing to reclaim yet */
                struct timespec ts = {(time_t)(deadline / 1000000000u),
                                      (long)(deadline % 1000000000u)};
                sem_clockwait(&r->space, CLOCK_MONOTONIC, &ts); /* EINTR, timeout: look again */
            }
            atomic_store(&r->space_waiter, 0);
        }
    }
    pbuf_ref(p);
    r->desc[head & r->mask].p = p;
    r->desc[head & r->mask].len = p->tot_len;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    if (used + 1 > ctr_get(&r->ctr.max_used))
        atomic_store_explicit(&r->ctr.max_used, used + 1, memory_order_relaxed);
    /* Doorbell on an idle ring: an EMAC starts sending the moment its
     * descriptor is handed over, so put a lone small frame (an ACK, a ping
     * or ARP reply) on the wire here rather than after waking the DMA thread,
     * which would add a thread hop to the reply's latency. Data frames and frames
     * queued behind others go through the DMA thread, in parallel with the
     * stack (writing a full frame costs the host's receive path, which would
     * otherwise stall lwIP). The DMA thread still completes the frame and
     * raises the interrupt. */
    if (p->tot_len <= TX_DOORBELL_MAX && !atomic_load(&r->stop) &&
        atomic_load_explicit(&r->dma, memory_order_acquire) == head && ring_write(r))
        ctr_add(&r->ctr.doorbell_writes, 1);
    sem_post(&r->kick);
    return 0;
}

/* Sleep until a frame is queued (the kick) or until DUE_NS (monotonic; 0:
 * no deadline). */
static void dma_wait(struct tx_ring *r, uint64_t due_ns)
{
    struct timespec ts;

    if (due_ns == 0) {
        while (sem_wait(&r->kick) != 0 && errno == EINTR)
            ;
        return;
    }
    ts.tv_sec = (time_t)(due_ns / 1000000000u);
    ts.tv_nsec = (long)(due_ns % 1000000000u);
    while (sem_clockwait(&r->kick, CLOCK_MONOTONIC, &ts) != 0 && errno == EINTR)
        ;
}

/* Interrupts the DMA engine owes, with the fault injector's say. */
struct dma_irq {
    uint64_t late_due;      /* a raise postponed by "irq late" */
    uint64_t dup_due;       /* the second raise of "irq dup" */
    uint64_t next_spurious; /* "irq spurious" */
};

#define DMA_DUP_GAP_NS 50000u

static void dma_raise(struct tx_ring *r, struct dma_irq *s, uint64_t now)
{
    struct tx_ring_irq_fault d = {false, false, 0};

    if (!r->ops->irq_fault) {
        irq_raise(r->irq);
        return;
    }
    r->ops->irq_fault(r->arg, &d);
    if (d.lost) {
        ctr_add(&r->ctr.irq_lost, 1); /* the ring waits for the next one */
        return;
    }
    if (d.late_ns) {
        if (!s->late_due || now + d.late_ns < s->late_due)
            s->late_due = now + d.late_ns;
    } else {
        irq_raise(r->irq);
    }
    if (d.dup)
        s->dup_due = now + DMA_DUP_GAP_NS;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* Due interrupts (late, duplicated, spurious) at NOW. */
static void dma_fire_due(struct tx_ring *r, struct dma_irq *s, uint64_t now)
{
    if (s->late_due && now >= s->late_due) {
        s->late_due = 0;
        irq_raise(r->irq);
    }
    if (s->dup_due && now >= s->dup_due) {
        s->dup_due = 0;
        irq_raise(r->irq);
    }
    uint64_t period = r->ops->spurious_ns ? r->ops->spurious_ns(r->arg) : 0;
    if (!period) {
        s->next_spurious = 0;
    } else if (!s->next_spurious) {
        s->next_spurious = now + period;
    } else if (now >= s->next_spurious) {
        s->next_spurious = now + period;
        ctr_add(&r->ctr.irq_spurious, 1);
        if (r->ops->spurious_fired)
            r->ops->spurious_fired(r->arg);
        irq_raise(r->irq);
    }
}

/* The DMA engine: puts queued frames on the wire at once, completes each one
 * --txc-delay-us (+ jitter) later, in ring order, and raises the TX-complete
 * IRQ every --txc-coalesce completions, after --txc-coalesce-us, or when it
 * has nothing left in flight; IRQ faults (late, lost, dup, spurious) apply
 * to those raises. */
static void *dma_thread(void *arg)
{
    struct tx_ring *r = arg;
    const uint64_t coalesce_ns = (uint64_t)r->cfg.coalesce_us * 1000u;
    unsigned wr = atomic_load(&r->wire);  /* frames on the wire: [done, wr) */
    unsigned done = atomic_load(&r->dma); /* next frame to complete */
    unsigned since_irq = 0;               /* completions not yet signalled */
    uint64_t first_unsignalled = 0;
    struct dma_irq irqs = {0, 0, 0};

    thread_register_current("tap-dma");
    for (;;) {
        uint64_t wake = 0;

        if (done != wr)
            wake = r->desc[done & r->mask].due_ns;
        if (since_irq > 0 && coalesce_ns)
            wake = earliest(wake, first_unsignalled + coalesce_ns);
        wake = earliest(wake, earliest(irqs.late_due, earliest(irqs.dup_due, irqs.next_spurious)));
        dma_wait(r, wake);
        if (atomic_load(&r->stop))
            break;

        ring_write(r); /* busy: linkoutput is writing and kicks us after */
        wr = atomic_load_explicit(&r->wire, memory_order_acquire);

        uint64_t now = base_now_ns();
        while (done != wr && r->desc[done & r->mask].due_ns <= now) {
            done++;
            atomic_store(&r->dma, done); /* seq_cst: see tx_ring_enqueue's wait */
            if (atomic_load(&r->space_waiter))
                sem_post(&r->space); /* linkoutput waits for a descriptor */
            if (since_irq++ == 0)
                first_unsignalled = now;
            if (since_irq >= r->cfg.coalesce) {
                dma_raise(r, &irqs, now);
                since_irq = 0;
            }
        }
        if (since_irq > 0 && ((coalesce_ns == 0 && done == wr) ||
                              (coalesce_ns && now >= first_unsignalled + coalesce_ns))) {
            dma_raise(r, &irqs, now);
            since_irq = 0;
        }
        dma_fire_due(r, &irqs, now);
    }
    return NULL;
}

/* Start the DMA thread at --driver-priority (SCHED_FIFO): it plays the
 * EMAC's DMA engine, which the CPU's software never preempts. Its write()
 * also carries the host's whole receive path, which at ordinary priority
 * the receiver it has just woken preempts. The RX thread, which runs lwIP
 * under the core lock (software), stays ordinary: an RT wake-up stays on
 * its own, often idle, CPU instead of following its waker. Born at the
 * priority, so it holds from the first frame; not permitted (no
 * CAP_SYS_NICE nor RLIMIT_RTPRIO, e.g. systemd's RestrictRealtime=) is
 * logged and the thread starts ordinary. 0 or -errno. */
static int dma_thread_start(struct tx_ring *r, pthread_t *th)
{
    int err;

    if (r->cfg.rt_priority > 0) {
        struct sched_param sp = {.sched_priority = r->cfg.rt_priority};
        pthread_attr_t attr;

        pthread_attr_init(&attr);
        pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
        pthread_attr_setschedparam(&attr, &sp);
        err = pthread_create(th, &attr, dma_thread, r);
        pthread_attr_destroy(&attr);
        if (err == 0) {
            ctr_add(&r->ctr.rt_threads, 1);
            return 0;
        }
        if (err != EPERM && err != EINVAL)
            return -err;
        log_info("tap", "--driver-priority %d: %s; the DMA thread is not real-time",
                 r->cfg.rt_priority, strerror(err));
    }
    err = pthread_create(th, NULL, dma_thread, r);
    return -err;
}

/* Set up R (zeroed by the caller) per CFG for the driver OPS/ARG:
 * allocate the descriptors and the IRQ line; no thread yet. 0 or -errno;
 * after an error tx_ring_destroy() releases what was made. */
int tx_ring_init(struct tx_ring *r, const struct tx_ring_config *cfg, const struct tx_ring_ops *ops,
                 void *arg)
{
    unsigned size = 1;

    r->cfg = *cfg;
    if (r->cfg.coalesce == 0)
        r->cfg.coalesce = 1;
    r->ops = ops;
    r->arg = arg;
    while (size < r->cfg.size)
        size <<= 1;
    r->size = size;
    r->mask = size - 1;
    r->desc = calloc(size, sizeof(*r->desc));
    if (!r->desc)
        return -ENOMEM;
    if (sem_init(&r->kick, 0, 0) != 0 || sem_init(&r->space, 0, 0) != 0)
        return -errno;
    r->irq = irq_line_new("txc", txc_isr, r);
    if (!r->irq)
        return -EBUSY;
    return 0;
}

/* Start the DMA thread and aim the IRQ at the configured thread (which must
 * exist by now: lwIP's tcpip thread is created by tcpip_init()). */
int tx_ring_start(struct tx_ring *r)
{
    pthread_t target;
    int err;

    bool stack = strcmp(r->cfg.irq_target, "stack") == 0;

    err = thread_find(stack ? "tcpip" : r->cfg.irq_target, &target);
    if (err) {
        log_err("tap", "--irq-target %s: no such lwIP thread", r->cfg.irq_target);
        return err;
    }
    irq_line_set_target(r->irq, target);
    /* --irq-target stack: on a single-core MCU the TX-complete interrupt
     * preempts whatever runs, and what matters is who is inside lwIP: the
     * tcpip thread, the RX thread feeding frames under the core lock
     * (LWIP_TCPIP_CORE_LOCKING_INPUT), or an application thread in a socket
     * call. So the IRQ follows the core lock; without core locking only the
     * tcpip thread runs the stack. */
#if LWIP_TCPIP_CORE_LOCKING
    if (stack)
        irq_line_follow_lock(r->irq, &lock_tcpip_core);
#endif
    r->reclaim_msg = tcpip_callbackmsg_new(reclaim_task, r);
    if (!r->reclaim_msg)
        return -ENOMEM;
    err = dma_thread_start(r, &r->thread);
    if (err)
        return err;
    r->running = true;
    return 0;
}

/* Stop the DMA thread and take the wire for good (frames still queued stay
 * until tx_ring_destroy). */
void tx_ring_stop(struct tx_ring *r)
{

    if (!r->running)
        return;
    atomic_store(&r->stop, true);
    sem_post(&r->kick);
    pthread_join(r->thread, NULL);
    /* Keep the wire to ourselves from now on: a doorbell write under way
     * finishes first, and none starts after (the fault injector and the
     * capture go away next). */
    while (atomic_flag_test_and_set_explicit(&r->writing, memory_order_acquire))
        sched_yield();
    r->running = false;
}

/* Free what tx_ring_init made (after tx_ring_stop). */
void tx_ring_destroy(struct tx_ring *r)
{

    irq_line_free(r->irq);
    r->irq = NULL;
    if (r->reclaim_msg) {
        /* A reclaim message still queued would run on freed memory. */
        for (int i = 0; i < 5000 && atomic_load(&r->reclaim_posted); i++)
            usleep(200);
        tcpip_callbackmsg_delete(r->reclaim_msg);
        r->reclaim_msg = NULL;
    }
    if (r->desc) {
        sem_destroy(&r->kick);
        sem_destroy(&r->space);
        free(r->desc);
        r->desc = NULL;
    }
}
