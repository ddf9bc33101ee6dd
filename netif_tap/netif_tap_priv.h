/* SPDX-License-Identifier: MIT */
/* netif_tap internals: the driver is one object split over two files that
 * call each other through this header (a private-header split, as lwIP's
 * priv/): netif_tap.c (the netif, the TX path, link and stats) and rx.c (the
 * RX thread and its batches). tx_ring.c stands apart: it sees only its own
 * tx_ring.h and reaches the driver through struct tx_ring_ops. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "netif_tap/ctr.h"
#include "netif_tap/netif_tap.h"
#include "netif_tap/tx_ring.h"

struct tcpip_callback_msg;
struct fault;
struct rx_fill;

/* The most pbufs of one frame the driver passes to readv/writev. */
#define NETIF_TAP_MAX_IOV 64
#define NETIF_TAP_RX_COPY 65536 /* as the fault injector's FRAME_MAX */

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
    counter_t tx_frames, tx_bytes, tx_errors, tx_link_down;
    counter_t link_changes;
    counter_t rx_fault_drop, tx_fault_drop;
    counter_t rx_batches;                 /* batches of RX frames fed to lwIP (see rx_batch_post) */
    counter_t tap_losses, tap_reattaches; /* the TAP device went away / came back */
    counter_t bug_acts;                   /* driver bug modes acting (link flaps, RX stop) */
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
    bool rxb_enabled;        /* set before the RX thread starts */
    struct rx_fill *rx_fill; /* the RX thread's own (rx.c): its batch in the making */
    struct tx_ring ring;
    netif_tap_frame_cb frame_cb;
    void *frame_arg;
    netif_tap_link_cb link_cb;
    void *link_arg;
    struct fault *fault;
    uint8_t rx_copy[NETIF_TAP_RX_COPY]; /* an rx frame as read, while rx rules act on it */
    struct netif_tap_counters ctr;
    netif_tap_loss_cb loss_cb;
    void *loss_arg;
    atomic_bool tap_lost; /* the device is gone: t->fd is a detached file */
    /* --tx-mode sync: linkoutput writes itself; after netif_tap_stop() it
     * drops instead (the capture may be closed), and stop waits for a write
     * in progress to finish. */
    atomic_bool sync_stopped;
    atomic_uint sync_writers;
    atomic_uint bug_isr_runs; /* DRIVER_BUG_LINK_FROM_ISR's count of ISR runs */
    atomic_bool rx_dead;      /* DRIVER_BUG_RX_NO_REFILL: RX stopped for good */
};

/* Report a frame to the frame observer (netif_tap_frame_cb), or, with no
 * observer, record NOTE's events. */
static inline void netif_tap_report(struct netif_tap *t, enum tap_dir dir, const struct iovec *iov,
                                    int n, size_t len, uint64_t ts_ns, struct capture_note *note)
{
    if (t->frame_cb)
        t->frame_cb(t->frame_arg, dir, iov, n, len, ts_ns, note);
    else if (note)
        capture_note_emit(note, dir == TAP_DIR_RX ? CAPTURE_IN : CAPTURE_OUT);
}

/* driver_bug.c */
void driver_bug_isr(struct netif_tap *t);

/* rx.c */
int rx_start(struct netif_tap *t);
void rx_stop(struct netif_tap *t);
bool rx_free(struct netif_tap *t);
void rx_deliver_copy(void *arg, const uint8_t *data, size_t len);
void rx_deliver_inline(void *arg, const uint8_t *data, size_t len);
