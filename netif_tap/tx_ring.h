/* SPDX-License-Identifier: MIT */
/* The TX descriptor ring, its "DMA" thread and the TX-complete interrupt.
 * The ring knows pbufs, the IRQ controller and lwIP's tcpip thread; what it
 * needs from the driver that owns it (the wire, the link state, the fault
 * injector's say on interrupts) comes through struct tx_ring_ops. */
#pragma once

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "netif_tap/ctr.h"
#include "netif_tap/netif_tap.h"

struct pbuf;
struct irq_line;
struct tcpip_callback_msg;

/* What to do with one TX-complete IRQ raise (all zero: raise it now). */
struct tx_ring_irq_fault {
    bool lost;        /* do not raise */
    bool dup;         /* raise twice */
    uint64_t late_ns; /* raise this much later */
};

/* Put P on the wire (the DMA thread, or linkoutput on an idle ring), with
 * the emulated IRQs masked. The ring keeps its reference meanwhile. */
typedef void (*tx_ring_write_cb)(void *arg, struct pbuf *p);
/* Is the cable in? While it is out, frames complete without being written. */
typedef bool (*tx_ring_link_cb)(void *arg);
/* The fault injector's decision on one IRQ raise (DMA thread). */
typedef void (*tx_ring_irq_fault_cb)(void *arg, struct tx_ring_irq_fault *d);
/* The period of spurious IRQs wanted now, 0 for none (DMA thread). */
typedef uint64_t (*tx_ring_spurious_ns_cb)(void *arg);
/* A spurious IRQ was just raised (DMA thread). */
typedef void (*tx_ring_spurious_fired_cb)(void *arg);
/* Driver work of the TX-complete ISR besides the ring's (in the ISR). */
typedef void (*tx_ring_isr_cb)(void *arg);

/* What the ring needs from its driver. write and link_up are required; a
 * NULL fault hook means "no IRQ faults". */
struct tx_ring_ops {
    tx_ring_write_cb write;
    tx_ring_link_cb link_up;
    tx_ring_irq_fault_cb irq_fault;
    tx_ring_spurious_ns_cb spurious_ns;
    tx_ring_spurious_fired_cb spurious_fired;
    tx_ring_isr_cb isr; /* may be NULL */
};

struct tx_ring_config {
    unsigned size;          /* descriptors, rounded up to a power of two */
    unsigned coalesce;      /* raise the IRQ every N completions (and when idle), >= 1 */
    unsigned coalesce_us;   /* ...or T us after the first unsignalled completion */
    unsigned delay_us;      /* completion this long after the write */
    unsigned jitter_us;     /* plus up to this much */
    enum txc_free free;     /* how the ISR gives completed pbufs back */
    const char *irq_target; /* "stack" or a registered thread's name; must outlive the ring */
    int rt_priority;        /* SCHED_FIFO priority of the DMA thread; 0: ordinary */
    unsigned bugs;          /* enum driver_bug bits the ring acts on (TX_FREE_SEGMENTS,
                               FREE_CALLBACK_DROP); 0: the correct driver */
};

struct tx_ring_counters {
    counter_t isr_runs;                                    /* TX-complete ISR runs */
    counter_t free_isr, free_callback, free_task;          /* pbufs given back, by policy */
    counter_t free_callback_fail;                          /* pbuf_free_callback() refused */
    counter_t full;                                        /* enqueue refused: no descriptor */
    counter_t full_waits;                                  /* enqueue waited for a descriptor */
    counter_t link_down;                                   /* completed unsent: link down */
    counter_t irq_lost, irq_spurious;                      /* IRQ faults applied */
    counter_t max_used, reclaimed_inline, doorbell_writes; /* ring occupancy and paths */
    counter_t rt_threads;                                  /* the DMA thread is real-time */
    counter_t bug_acts; /* driver bug mode acts: segments freed apart, pbufs forgotten */
};

struct tx_desc {
    struct pbuf *p; /* referenced (pbuf_ref) while the descriptor is owned by DMA */
    uint32_t len;
    uint64_t due_ns; /* DMA thread only: when the frame counts as sent */
};

/* Four free-running indices, each advanced by one party only:
 *   head: producer (linkoutput, core-serialised) - next descriptor to fill
 *   wire: the writer (DMA thread, or linkoutput's doorbell) - next to write
 *   dma:  DMA thread - next descriptor to complete; [tail, dma) are complete
 *   tail: reclaimer (ISR, or the tcpip thread) - next descriptor to free */
struct tx_ring {
    struct tx_ring_config cfg;
    const struct tx_ring_ops *ops;
    void *arg;
    struct tx_desc *desc;
    unsigned size;
    unsigned mask;
    atomic_uint head;
    atomic_uint wire;
    atomic_uint dma;
    atomic_uint tail;
    atomic_flag writing; /* someone is putting frames on the wire */
    uint64_t last_due;   /* completion time of the last frame written (writing) */
    sem_t kick;
    sem_t space; /* posted on completions while a producer waits */
    atomic_int space_waiter;
    atomic_bool stop;
    bool running;
    pthread_t thread;
    struct irq_line *irq;
    struct tcpip_callback_msg *reclaim_msg;
    atomic_bool reclaim_posted;
    atomic_bool test_isr_post; /* --test-hooks: the next ISR posts the wrong way */
    atomic_flag reclaiming;
    struct tx_ring_counters ctr;
};

int tx_ring_init(struct tx_ring *r, const struct tx_ring_config *cfg, const struct tx_ring_ops *ops,
                 void *arg);
int tx_ring_start(struct tx_ring *r);
void tx_ring_stop(struct tx_ring *r);
void tx_ring_destroy(struct tx_ring *r);
int tx_ring_enqueue(struct tx_ring *r, struct pbuf *p);
unsigned tx_ring_used(const struct tx_ring *r);
void tx_ring_sweep(struct tx_ring *r);
void tx_ring_test_isr_post(struct tx_ring *r);
