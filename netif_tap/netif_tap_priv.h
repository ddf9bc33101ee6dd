/* SPDX-License-Identifier: MIT */
/* netif_tap internals: the driver is one object split over files that call
 * each other through this header (a private-header split, as lwIP's
 * priv/): netif_tap.c (the netif, the TX path, link and stats), rx.c (the
 * RX thread and its batches) and tx_ring.c. */
#pragma once

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "netif_tap/netif_tap.h"

struct tcpip_callback_msg;
struct fault;

/* The most pbufs of one frame the driver passes to readv/writev. */
#define NETIF_TAP_MAX_IOV 64

/* Point IOV (at most MAX entries) at the payloads of the chain P, skipping
 * empty pbufs. Returns the number of entries used. */
static inline int pbuf_to_iov(const struct pbuf *p, struct iovec *iov, int max)
{
    int n = 0;

    for (const struct pbuf *q = p; q && n < max; q = q->next) {
        if (q->len == 0)
            continue;
        iov[n].iov_base = q->payload;
        iov[n].iov_len = q->len;
        n++;
    }
    return n;
}

typedef atomic_uint_fast64_t counter_t;

static inline void ctr_add(counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t ctr_get(const counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct tx_desc {
    struct pbuf *p; /* referenced (pbuf_ref) while the descriptor is owned by DMA */
    uint32_t len;
    uint64_t due_ns; /* DMA thread only: when the frame counts as sent */
};

/* Three free-running indices, each advanced by one party only:
 *   head: producer (linkoutput, core-serialised) - next descriptor to fill
 *   dma:  DMA thread - next descriptor to complete; [tail, dma) are complete
 *   tail: reclaimer (ISR, or the tcpip thread) - next descriptor to free
 * (The DMA thread's own "next to put on the wire" index is private to it.) */
struct tx_ring {
    struct tx_desc *desc;
    unsigned size;
    unsigned mask;
    atomic_uint head;          /* next descriptor linkoutput fills */
    atomic_uint wire;          /* next descriptor to put on the wire */
    atomic_uint dma;           /* next descriptor to complete */
    atomic_uint tail;          /* next descriptor to reclaim */
    atomic_flag writing;       /* someone is putting frames on the wire */
    uint64_t last_due;         /* completion time of the last frame written (writing) */
    counter_t doorbell_writes; /* frames linkoutput put on the wire itself */
    sem_t kick;
    sem_t space; /* posted on completions while a producer waits */
    atomic_int space_waiter;
    counter_t full_waits; /* linkoutput had to wait for a descriptor */
    atomic_bool stop;
    bool running;
    pthread_t thread;
    struct irq_line *irq;
    struct tcpip_callback_msg *reclaim_msg;
    atomic_bool reclaim_posted;
    atomic_bool test_isr_post; /* --test-hooks: the next ISR posts the wrong way */
    atomic_flag reclaiming;
    counter_t max_used;
    counter_t reclaimed_inline;
};

/* Frames read in one RX wake-up go to lwIP as one tcpip-thread message
 * rather than one message (and possibly one wake-up) per frame. Slots are a
 * ring: the RX thread fills slot prod, the tcpip thread empties them in
 * order and advances cons. */
#define RX_BATCH_MAX   32
#define RX_BATCH_SLOTS 16

struct rx_batch {
    struct netif_tap *t;
    struct tcpip_callback_msg *msg;
    unsigned n;
    struct pbuf *p[RX_BATCH_MAX];
};

struct netif_tap_counters {
    counter_t rx_frames, rx_bytes, rx_errors, rx_nomem, rx_input_fail, rx_link_down, rx_oversize;
    counter_t tx_frames, tx_bytes, tx_errors, tx_ring_full, tx_link_down;
    counter_t txc_isr_runs, free_isr, free_callback, free_task, free_callback_fail;
    counter_t link_changes;
    counter_t rx_fault_drop, tx_fault_drop, irq_lost, irq_spurious;
    counter_t tx_seq;     /* frames handed to the wire path: the fault injector's frame numbers */
    counter_t rx_batches; /* batches of RX frames fed to lwIP (see rx_batch_post) */
    counter_t tap_losses, tap_reattaches; /* the TAP device went away / came back */
    counter_t rt_threads;                 /* the DMA thread at --driver-priority: 0 or 1 */
};

struct netif_tap {
    struct netif netif;
    struct netif_tap_config cfg;
    char ifname[16];
    char irq_target[32];
    int fd;
    int mtu;
    size_t rx_frame_max;
    atomic_bool link_up;
    bool rx_running;
    int rx_stop_fd;
    pthread_t rx_thread;
    struct rx_batch rxb[RX_BATCH_SLOTS];
    atomic_uint rxb_prod, rxb_cons;
    bool rxb_enabled; /* set before the RX thread starts */
    struct tx_ring ring;
    netif_tap_frame_cb frame_cb;
    void *frame_arg;
    netif_tap_link_cb link_cb;
    void *link_arg;
    struct fault *fault;
    struct netif_tap_counters ctr;
    netif_tap_loss_cb loss_cb;
    void *loss_arg;
    atomic_bool tap_lost; /* the device is gone: t->fd is a detached file */
    /* --tx-mode sync: linkoutput writes itself; after netif_tap_stop() it
     * drops instead (the capture may be closed), and stop waits for a write
     * in progress to finish. */
    atomic_bool sync_stopped;
    atomic_uint sync_writers;
};

int tap_write_chain(struct netif_tap *t, struct pbuf *p, enum tap_dir dir);
int tap_write_raw(struct netif_tap *t, const uint8_t *data, size_t len);

int tx_ring_init(struct netif_tap *t);
int tx_ring_start(struct netif_tap *t);
void tx_ring_stop(struct netif_tap *t);
void tx_ring_destroy(struct netif_tap *t);
err_t tx_ring_enqueue(struct netif_tap *t, struct pbuf *p);
unsigned tx_ring_used(const struct netif_tap *t);
void tx_ring_sweep(struct netif_tap *t);

/* rx.c */
int rx_start(struct netif_tap *t);
void rx_stop(struct netif_tap *t);
bool rx_free(struct netif_tap *t);
void rx_deliver_copy(void *arg, const uint8_t *data, size_t len);
