/* SPDX-License-Identifier: MIT */
/* netif_tap: lwIP Ethernet driver on a Linux TAP, with an EMAC-like TX ring
 * and an emulated TX-complete interrupt. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "capture/capture.h"

struct netif;
struct netif_tap;
struct fault;

enum tx_mode {
    TX_MODE_SYNC, /* write() inside linkoutput, as contrib's tapif */
    TX_MODE_RING, /* descriptor ring, DMA thread, TX-complete IRQ */
};

enum txc_free {
    TXC_FREE_ISR,      /* pbuf_free() inside the ISR (the ISR heap re-entry bug) */
    TXC_FREE_CALLBACK, /* pbuf_free_callback() from the ISR (its usual fix) */
    TXC_FREE_TASK,     /* the ISR only signals; the tcpip thread frees */
};

/* Driver bug modes (--driver-bug): the driver breaks its contract with lwIP
 * on purpose, the way real EMAC drivers have, so that the bug can be shown
 * (the bug zoo). A bit set; 0 is the correct driver. */
enum driver_bug {
    DRIVER_BUG_TX_FREE_SEGMENTS = 1u << 0,   /* TX-complete frees each pbuf of a chain */
    DRIVER_BUG_LINK_FROM_ISR = 1u << 1,      /* the TX-complete ISR flaps lwIP's link */
    DRIVER_BUG_RX_NO_REFILL = 1u << 2,       /* RX stops for good after a failed pbuf_alloc */
    DRIVER_BUG_FREE_CALLBACK_DROP = 1u << 3, /* a failed pbuf_free_callback() forgets the pbuf */
};
#define DRIVER_BUG_COUNT 4

/* The TX-complete ISR runs between two link flaps of
 * DRIVER_BUG_LINK_FROM_ISR (a PHY interrupt now and then, not every IRQ). */
#define DRIVER_BUG_LINK_ISR_EVERY 32u

enum tap_dir {
    TAP_DIR_RX, /* host -> lwIP */
    TAP_DIR_TX, /* lwIP -> host */
};

struct netif_tap_config {
    const char *ifname;
    bool create;
    uint8_t mac[6];
    bool mac_set;
    int mtu; /* 0: the TAP's own MTU */
    enum tx_mode tx_mode;
    unsigned ring_size;       /* descriptors, power of two */
    unsigned txc_coalesce;    /* raise the IRQ every N frames (and when idle) */
    unsigned txc_coalesce_us; /* ...or T us after the first unsignalled completion */
    unsigned txc_delay_us;    /* completion this long after the write */
    unsigned txc_jitter_us;   /* plus up to this much */
    enum txc_free txc_free;
    const char *irq_target; /* thread that plays the CPU: "stack" (core-lock owner), "tcpip", ... */
    int rt_priority;        /* SCHED_FIFO priority of the DMA thread; 0: ordinary */
    unsigned driver_bugs;   /* enum driver_bug bits; 0: none */
};

struct netif_tap_stats {
    uint64_t rx_frames, rx_bytes, rx_errors, rx_nomem, rx_input_fail, rx_link_down, rx_oversize;
    uint64_t rx_batches;
    uint64_t tx_frames, tx_bytes, tx_errors, tx_ring_full, tx_link_down;
    uint64_t ring_size, ring_used, ring_max_used, ring_reclaimed_inline, ring_full_waits;
    uint64_t ring_doorbell_writes;
    uint64_t txc_isr_runs, free_isr, free_callback, free_task, free_callback_fail;
    uint64_t link_changes;
    uint64_t rx_fault_drop, tx_fault_drop, irq_lost, irq_spurious;
    uint64_t tap_losses, tap_reattaches;
    uint64_t rt_threads;      /* 1: the DMA thread runs at rt_priority */
    uint64_t driver_bug_acts; /* times a --driver-bug mode broke the contract */
    bool link_up;
    bool tap_lost;
};

/* Observer of every frame that crossed the TAP, called from the RX thread,
 * the DMA thread, the delay line's or linkoutput (sync mode), a tx frame
 * just before it is written. Must be thread-safe and quick. TS_NS: the
 * stamp to give it (0: now); NOTE (may be NULL): what fault rules did to it
 * (capture_frame() records their events), a tx frame a rule dropped being
 * reported too, as NOTE->unsent. */
typedef void (*netif_tap_frame_cb)(void *arg, enum tap_dir dir, const struct iovec *iov, int iovcnt,
                                   size_t len, uint64_t ts_ns, struct capture_note *note);
/* Link edges (from the tcpip thread). */
typedef void (*netif_tap_link_cb)(void *arg, bool up);
/* The TAP device went away (LOST) or is back, from the RX thread. Returning
 * true on a loss ends the RX thread instead of waiting for the TAP. */
typedef bool (*netif_tap_loss_cb)(void *arg, bool lost);

/* The names of the values, indexed by value (base/names.h): the option
 * table reads them too. */
extern const char *const tx_mode_names[TX_MODE_RING + 1];
extern const char *const txc_free_names[TXC_FREE_TASK + 1];
const char *tx_mode_name(enum tx_mode m);
int tx_mode_parse(const char *s, enum tx_mode *out);
const char *txc_free_name(enum txc_free f);
int txc_free_parse(const char *s, enum txc_free *out);
/* Indexed by bit number: "tx-free-segments", "link-from-isr", ... */
extern const char *const driver_bug_names[DRIVER_BUG_COUNT];
int driver_bug_parse(const char *list, unsigned *out);
int driver_bug_format(unsigned bugs, char *buf, size_t len);
void netif_tap_default_mac(const char *ifname, uint8_t mac[6]);

struct netif_tap *netif_tap_new(const struct netif_tap_config *cfg);
struct netif_tap *netif_tap_new_fd(const struct netif_tap_config *cfg, int fd);
/* The RX path without the RX thread (harnesses: tests/fuzz/fuzz_frame.c):
 * the LEN-byte frame DATA goes through what follows the TAP read - counters,
 * frame observer, fault injector - into lwIP, which has seen it (and any
 * copies the injector made) when this returns, with
 * LWIP_TCPIP_CORE_LOCKING_INPUT. Call without the core lock, never while
 * the RX thread runs. 0, or -ENOMEM when the pool is empty (counted). */
int netif_tap_rx_inject(struct netif_tap *t, const uint8_t *data, size_t len);
void netif_tap_free(struct netif_tap *t);
void netif_tap_set_frame_cb(struct netif_tap *t, netif_tap_frame_cb cb, void *arg);
void netif_tap_set_link_cb(struct netif_tap *t, netif_tap_link_cb cb, void *arg);
void netif_tap_set_loss_cb(struct netif_tap *t, netif_tap_loss_cb cb, void *arg);
void netif_tap_set_faults(struct netif_tap *t, struct fault *f);
unsigned netif_tap_tx_in_flight(const struct netif_tap *t);
int netif_tap_add(struct netif_tap *t, uint32_t addr, uint32_t mask, uint32_t gw);
int netif_tap_start(struct netif_tap *t);
void netif_tap_stop(struct netif_tap *t);
void netif_tap_set_link(struct netif_tap *t, bool up);
void netif_tap_housekeeping(struct netif_tap *t);
bool netif_tap_link_is_up(const struct netif_tap *t);
struct netif *netif_tap_netif(struct netif_tap *t);
int netif_tap_mtu(const struct netif_tap *t);
void netif_tap_get_stats(const struct netif_tap *t, struct netif_tap_stats *out);
const struct netif_tap_config *netif_tap_config(const struct netif_tap *t);
struct irq_line *netif_tap_txc_irq(struct netif_tap *t);
/* --test-hooks: the next TX-complete ISR posts to the tcpip thread with
 * tcpip_callback(), which may block, instead of the _fromisr call. 0, or
 * -ENOTSUP without a TX ring. */
int netif_tap_test_isr_post(struct netif_tap *t);
