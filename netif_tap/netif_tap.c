/* SPDX-License-Identifier: MIT */
/* netif_tap: lwIP Ethernet driver on a Linux TAP (lwIP's ethernetif.c shape:
 * init, low_level_output, input), with one RX thread and a TX ring. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "netif_tap/netif_tap.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/snmp.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

#include "base/names.h"
#include "capture/capture.h"
#include "fault_inject/fault.h"
#include "netif_tap/netif_tap_priv.h"
#include "netif_tap/tap.h"
#include "port/lwip_compat.h"
#include "base/log.h"
#include "base/base.h"

#define VLAN_EXTRA 4

const char *const tx_mode_names[TX_MODE_RING + 1] = {
    [TX_MODE_SYNC] = "sync", [TX_MODE_RING] = "ring"};
const char *const txc_free_names[TXC_FREE_TASK + 1] = {
    [TXC_FREE_ISR] = "isr", [TXC_FREE_CALLBACK] = "callback", [TXC_FREE_TASK] = "task"};

/* "sync" or "ring"; "?" for no mode. */
const char *tx_mode_name(enum tx_mode m)
{
    return names_get(tx_mode_names, NAMES_COUNT(tx_mode_names), m);
}

/* The mode named S: 0 with *OUT set, or -EINVAL. */
int tx_mode_parse(const char *s, enum tx_mode *out)
{
    unsigned v;
    int err = names_find(tx_mode_names, NAMES_COUNT(tx_mode_names), s, &v);

    if (!err)
        *out = (enum tx_mode)v;
    return err;
}

/* "isr", "callback" or "task"; "?" for no policy. */
const char *txc_free_name(enum txc_free f)
{
    return names_get(txc_free_names, NAMES_COUNT(txc_free_names), f);
}

/* The policy named S: 0 with *OUT set, or -EINVAL. */
int txc_free_parse(const char *s, enum txc_free *out)
{
    unsigned v;
    int err = names_find(txc_free_names, NAMES_COUNT(txc_free_names), s, &v);

    if (!err)
        *out = (enum txc_free)v;
    return err;
}

/* A stable, locally administered MAC derived from the TAP name, so the same
 * TAP always gets the same address: 02:4c:77:xx:xx:xx. */
void netif_tap_default_mac(const char *ifname, uint8_t mac[6])
{
    uint32_t h = 2166136261u;

    for (const char *c = ifname; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    mac[0] = 0x02;
    mac[1] = 0x4c;
    mac[2] = 0x77;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

/* Hand the frame to the frame observer stamped TS_NS (0: now) with NOTE
 * (may be NULL), then writev() it: a frame is in the capture before it is
 * on the TAP, so that nothing it causes comes before it there. 0 or -errno
 * (counted; the frame is in the capture all the same). */
static int write_iov(struct netif_tap *t, const struct iovec *iov, int n, size_t len,
                     uint64_t ts_ns, struct capture_note *note)
{
    ssize_t w;

    netif_tap_report(t, TAP_DIR_TX, iov, n, len, ts_ns, note);
    do {
        w = writev(t->fd, iov, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != len) {
        ctr_add(&t->ctr.tx_errors, 1);
        LINK_STATS_INC(link.err);
        return w < 0 ? -errno : -EIO;
    }
    ctr_add(&t->ctr.tx_frames, 1);
    ctr_add(&t->ctr.tx_bytes, (uint64_t)w);
    return 0;
}

/* Write the frame P to the TAP with writev() over the chain (unless the
 * fault injector drops it or sends its own version), report it to the frame
 * observer and count it. Used by the DMA thread and sync linkoutput. What
 * the fault rules did travels with the frame to the capture (a dropped
 * frame is reported as unsent: a pcapng capture shows it, marked).
 * Returns 0 or -errno (counted, never fatal). */
static int write_chain(struct netif_tap *t, struct pbuf *p)
{
    struct iovec iov[NETIF_TAP_MAX_IOV];
    struct capture_note note = {.nacts = 0};
    int n = pbuf_to_iov(p, iov, NETIF_TAP_MAX_IOV);

    if (t->fault) {
        switch (fault_tx(t->fault, iov, n, p->tot_len, &note)) {
        case FAULT_PASS:
            break;
        case FAULT_DROP:
            ctr_add(&t->ctr.tx_fault_drop, 1);
            note.unsent = true;
            netif_tap_report(t, TAP_DIR_TX, iov, n, p->tot_len, 0, &note);
            return 0; /* lost on the wire: sent as far as lwIP can tell */
        case FAULT_TAKEN:
            return 0;
        }
    }
    return write_iov(t, iov, n, p->tot_len, 0, &note);
}

/* fault_io.tx_write: one contiguous frame from the fault injector (a copy
 * or a held frame), stamped TS_NS in the capture (0: now), with NOTE. */
static void fault_tx_write(void *arg, const uint8_t *data, size_t len, uint64_t ts_ns,
                           struct capture_note *note)
{
    struct netif_tap *t = arg;
    struct iovec iov = {(void *)data, len};

    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.tx_link_down, 1);
        if (note)
            capture_note_emit(note, CAPTURE_OUT);
        return;
    }
    write_iov(t, &iov, 1, len, ts_ns, note);
}

/* ---- what the TX ring needs from the driver (tx_ring_ops) --------------- */

static void ring_write_cb(void *arg, struct pbuf *p)
{
    write_chain(arg, p);
}

static bool ring_link_up_cb(void *arg)
{
    struct netif_tap *t = arg;

    return atomic_load_explicit(&t->link_up, memory_order_relaxed);
}

static void ring_irq_fault_cb(void *arg, struct tx_ring_irq_fault *d)
{
    struct netif_tap *t = arg;
    struct fault_irq_decision fd;

    if (!t->fault)
        return;
    fault_irq(t->fault, &fd);
    d->lost = fd.lost;
    d->dup = fd.dup;
    d->late_ns = fd.late_ns;
}

static uint64_t ring_spurious_ns_cb(void *arg)
{
    struct netif_tap *t = arg;

    return t->fault ? fault_irq_spurious_ns(t->fault) : 0;
}

static void ring_spurious_fired_cb(void *arg)
{
    struct netif_tap *t = arg;

    if (t->fault)
        fault_irq_spurious_fired(t->fault);
}

static void ring_isr_cb(void *arg)
{
    driver_bug_isr(arg);
}

static const struct tx_ring_ops ring_ops = {
    .write = ring_write_cb,
    .link_up = ring_link_up_cb,
    .irq_fault = ring_irq_fault_cb,
    .spurious_ns = ring_spurious_ns_cb,
    .spurious_fired = ring_spurious_fired_cb,
    .isr = ring_isr_cb,
};

/* Put the fault injector F between the TAP and lwIP (NULL: none). Set it
 * before netif_tap_start(). */
void netif_tap_set_faults(struct netif_tap *t, struct fault *f)
{
    struct fault_io io = {.rx_deliver = rx_deliver_copy,
                          .rx_inline = rx_deliver_inline,
                          .tx_write = fault_tx_write,
                          .arg = t};

    if (f)
        fault_set_io(f, &io);
    t->fault = f;
}

/* Frames queued in the TX ring and not yet given back. */
unsigned netif_tap_tx_in_flight(const struct netif_tap *t)
{
    return t->cfg.tx_mode == TX_MODE_RING ? tx_ring_used(&t->ring) : 0;
}

/* lwIP linkoutput: called with the core lock held (tcpip thread or an API
 * thread). */
static err_t tap_linkoutput(struct netif *netif, struct pbuf *p)
{
    struct netif_tap *t = netif->state;

    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.tx_link_down, 1);
        LINK_STATS_INC(link.drop);
        return ERR_OK;
    }
    if (t->cfg.tx_mode == TX_MODE_RING) {
        if (tx_ring_enqueue(&t->ring, p) != 0)
            return ERR_MEM; /* out of descriptors */
        LINK_STATS_INC(link.xmit);
        return ERR_OK;
    }
    atomic_fetch_add(&t->sync_writers, 1);
    if (atomic_load(&t->sync_stopped)) {
        atomic_fetch_sub(&t->sync_writers, 1);
        LINK_STATS_INC(link.drop);
        return ERR_IF;
    }
    int rc = write_chain(t, p);
    atomic_fetch_sub(&t->sync_writers, 1);
    if (rc != 0)
        return ERR_IF;
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

static err_t tap_netif_init(struct netif *netif)
{
    struct netif_tap *t = netif->state;

    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->output = etharp_output;
    netif->linkoutput = tap_linkoutput;
    netif->mtu = (u16_t)t->mtu;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(netif->hwaddr, t->cfg.mac, ETH_HWADDR_LEN);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    MIB2_INIT_NETIF(netif, snmp_ifType_ethernet_csmacd, 1000000000u);
    return ERR_OK;
}

/* Prepare the driver on FD (no threads yet), or on the TAP named in CFG,
 * opened here, when FD is negative. FD is the driver's from now on, also on
 * failure. NULL with errno set on failure (ENODEV: no such TAP). */
static struct netif_tap *driver_new(const struct netif_tap_config *cfg, int fd)
{
    struct netif_tap *t = calloc(1, sizeof(*t));
    int mtu, err;

    if (!t) {
        if (fd >= 0)
            close(fd);
        return NULL; /* errno: ENOMEM */
    }
    t->fd = -1;
    t->rx_stop_fd = -1;
    t->cfg = *cfg;
    snprintf(t->ifname, sizeof(t->ifname), "%s", cfg->ifname);
    snprintf(t->irq_target, sizeof(t->irq_target), "%s",
             cfg->irq_target ? cfg->irq_target : "stack");
    t->cfg.ifname = t->ifname;
    t->cfg.irq_target = t->irq_target;
    if (!cfg->mac_set)
        netif_tap_default_mac(t->ifname, t->cfg.mac);

    t->fd = fd >= 0 ? fd : tap_open(t->ifname, cfg->create);
    if (t->fd < 0) {
        err = t->fd;
        goto err;
    }
    mtu = cfg->mtu > 0 ? cfg->mtu : tap_get_mtu(t->ifname);
    t->mtu = mtu > 0 ? mtu : 1500;
    t->rx_frame_max = (size_t)t->mtu + SIZEOF_ETH_HDR + VLAN_EXTRA;
    t->rx_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (t->rx_stop_fd < 0) {
        err = -errno;
        goto err;
    }
    if (t->cfg.tx_mode == TX_MODE_RING) {
        struct tx_ring_config rc = {
            .size = cfg->ring_size,
            .coalesce = cfg->txc_coalesce,
            .coalesce_us = cfg->txc_coalesce_us,
            .delay_us = cfg->txc_delay_us,
            .jitter_us = cfg->txc_jitter_us,
            .free = cfg->txc_free,
            .irq_target = t->irq_target,
            .rt_priority = cfg->rt_priority,
            .bugs = cfg->driver_bugs,
        };
        if (t->cfg.txc_coalesce == 0)
            t->cfg.txc_coalesce = 1; /* as the ring reads it */
        err = tx_ring_init(&t->ring, &rc, &ring_ops, t);
        if (err)
            goto err;
    }
    /* The host sees no carrier until lwIP's link comes up. */
    tap_set_carrier(t->fd, false);
    return t;
err:
    netif_tap_free(t);
    errno = -err;
    return NULL;
}

/* Open the TAP named in CFG and prepare the driver (no threads yet). On
 * failure returns NULL with errno set (ENODEV: no such TAP), nothing left
 * open. */
struct netif_tap *netif_tap_new(const struct netif_tap_config *cfg)
{
    return driver_new(cfg, -1);
}

/* The driver on an already open descriptor FD instead of a TAP it opens:
 * for harnesses that feed frames with netif_tap_rx_inject() and let the
 * TX path write to, say, /dev/null (set cfg->mtu: FD has no MTU to ask).
 * FD belongs to the driver from now on, also on failure. */
struct netif_tap *netif_tap_new_fd(const struct netif_tap_config *cfg, int fd)
{
    return driver_new(cfg, fd);
}

void netif_tap_free(struct netif_tap *t)
{
    if (!t)
        return;
    netif_tap_stop(t);
    if (!rx_free(t)) {
        log_warn("tap",
                 "%s: frames still queued for a stack that does not run them: "
                 "the driver is left allocated",
                 t->ifname);
        return;
    }
    if (t->cfg.tx_mode == TX_MODE_RING)
        tx_ring_destroy(&t->ring);
    if (t->rx_stop_fd >= 0)
        close(t->rx_stop_fd);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

void netif_tap_set_frame_cb(struct netif_tap *t, netif_tap_frame_cb cb, void *arg)
{
    t->frame_arg = arg;
    t->frame_cb = cb;
}

void netif_tap_set_link_cb(struct netif_tap *t, netif_tap_link_cb cb, void *arg)
{
    t->link_arg = arg;
    t->link_cb = cb;
}

/* Who hears that the TAP went away or came back (set before starting). */
void netif_tap_set_loss_cb(struct netif_tap *t, netif_tap_loss_cb cb, void *arg)
{
    t->loss_arg = arg;
    t->loss_cb = cb;
}

/* Add the netif to lwIP and make it the default (tcpip thread, core lock).
 * Addresses in network byte order. 0 or -EIO. */
int netif_tap_add(struct netif_tap *t, uint32_t addr, uint32_t mask, uint32_t gw)
{
    ip4_addr_t a, m, g;

    ip4_addr_set_u32(&a, addr);
    ip4_addr_set_u32(&m, mask);
    ip4_addr_set_u32(&g, gw);
    if (!netif_add(&t->netif, &a, &m, &g, t, tap_netif_init, tcpip_input))
        return -EIO;
    netif_set_default(&t->netif);
    netif_set_up(&t->netif);
    return 0;
}

/* Start the RX thread and, in ring mode, the DMA thread. 0 or -errno. */
int netif_tap_start(struct netif_tap *t)
{
    int err;

    if (t->cfg.tx_mode == TX_MODE_RING) {
        err = tx_ring_start(&t->ring);
        if (err)
            return err;
    }
    return rx_start(t);
}

/* Stop the driver threads (frames still queued are dropped). */
void netif_tap_stop(struct netif_tap *t)
{
    rx_stop(t);
    if (t->cfg.tx_mode == TX_MODE_RING) {
        tx_ring_stop(&t->ring);
    } else {
        atomic_store(&t->sync_stopped, true);
        while (atomic_load(&t->sync_writers) != 0)
            sched_yield(); /* one frame's write */
    }
}

/* Plug or pull the cable (tcpip thread, core lock held). lwIP's link state
 * and the host's carrier change together: on the way down lwIP stops
 * first, on the way up the carrier comes first so that lwIP's gratuitous ARP
 * reaches a host that sees the link. */
void netif_tap_set_link(struct netif_tap *t, bool up)
{
    int err;

    if (up == atomic_load(&t->link_up))
        return;
    /* The edge is reported when the host's carrier changes: before lwIP's
     * link-up work (its gratuitous ARP), after lwIP's link-down. */
    if (up) {
        err = tap_set_carrier(t->fd, true);
        atomic_store(&t->link_up, true);
        if (t->link_cb)
            t->link_cb(t->link_arg, up);
        netif_set_link_up(&t->netif);
    } else {
        netif_set_link_down(&t->netif);
        atomic_store(&t->link_up, false);
        /* a lost TAP has no carrier to drop */
        err = atomic_load(&t->tap_lost) ? 0 : tap_set_carrier(t->fd, false);
        if (t->link_cb)
            t->link_cb(t->link_arg, up);
    }
    if (err)
        log_warn("tap", "%s: TUNSETCARRIER: %s", t->ifname, strerror(-err));
    ctr_add(&t->ctr.link_changes, 1);
    /* debug only: flaps come many per second; the events log has every edge */
    log_debug("tap", "%s: link %s", t->ifname, up ? "up" : "down");
}

/* Periodic work in the tcpip thread: reclaim TX descriptors that no ISR gave
 * back (a failed pbuf_free_callback(), a reclaimer that was busy). */
void netif_tap_housekeeping(struct netif_tap *t)
{
    if (t->cfg.tx_mode == TX_MODE_RING)
        tx_ring_sweep(&t->ring);
}

bool netif_tap_link_is_up(const struct netif_tap *t)
{
    return atomic_load(&t->link_up);
}

struct netif *netif_tap_netif(struct netif_tap *t)
{
    return &t->netif;
}

int netif_tap_mtu(const struct netif_tap *t)
{
    return t->mtu;
}

const struct netif_tap_config *netif_tap_config(const struct netif_tap *t)
{
    return &t->cfg;
}

struct irq_line *netif_tap_txc_irq(struct netif_tap *t)
{
    return t->ring.irq;
}

/* --test-hooks (lwipctl test-isr-post): the next TX-complete ISR posts to
 * the tcpip thread the way that may block (see tx_ring_test_isr_post).
 * 0, or -ENOTSUP without a TX ring. */
int netif_tap_test_isr_post(struct netif_tap *t)
{
    if (t->cfg.tx_mode != TX_MODE_RING)
        return -ENOTSUP;
    tx_ring_test_isr_post(&t->ring);
    return 0;
}

void netif_tap_get_stats(const struct netif_tap *t, struct netif_tap_stats *o)
{
    const struct netif_tap_counters *c = &t->ctr;
    const struct tx_ring_counters *rc = &t->ring.ctr;

    memset(o, 0, sizeof(*o));
    o->rx_frames = ctr_get(&c->rx_frames);
    o->rx_bytes = ctr_get(&c->rx_bytes);
    o->rx_errors = ctr_get(&c->rx_errors);
    o->rx_nomem = ctr_get(&c->rx_nomem);
    o->rx_input_fail = ctr_get(&c->rx_input_fail);
    o->rx_link_down = ctr_get(&c->rx_link_down);
    o->rx_oversize = ctr_get(&c->rx_oversize);
    o->rx_batches = ctr_get(&c->rx_batches);
    o->tx_frames = ctr_get(&c->tx_frames);
    o->tx_bytes = ctr_get(&c->tx_bytes);
    o->tx_errors = ctr_get(&c->tx_errors);
    o->tx_ring_full = ctr_get(&rc->full);
    o->tx_link_down = ctr_get(&c->tx_link_down) + ctr_get(&rc->link_down);
    if (t->cfg.tx_mode == TX_MODE_RING) {
        o->ring_size = t->ring.size;
        o->ring_used = tx_ring_used(&t->ring);
        o->ring_max_used = ctr_get(&rc->max_used);
        o->ring_reclaimed_inline = ctr_get(&rc->reclaimed_inline);
        o->ring_doorbell_writes = ctr_get(&rc->doorbell_writes);
        o->ring_full_waits = ctr_get(&rc->full_waits);
    }
    o->txc_isr_runs = ctr_get(&rc->isr_runs);
    o->free_isr = ctr_get(&rc->free_isr);
    o->free_callback = ctr_get(&rc->free_callback);
    o->free_task = ctr_get(&rc->free_task);
    o->free_callback_fail = ctr_get(&rc->free_callback_fail);
    o->link_changes = ctr_get(&c->link_changes);
    o->rx_fault_drop = ctr_get(&c->rx_fault_drop);
    o->tx_fault_drop = ctr_get(&c->tx_fault_drop);
    o->irq_lost = ctr_get(&rc->irq_lost);
    o->irq_spurious = ctr_get(&rc->irq_spurious);
    o->tap_losses = ctr_get(&c->tap_losses);
    o->tap_reattaches = ctr_get(&c->tap_reattaches);
    o->rt_threads = ctr_get(&rc->rt_threads);
    o->driver_bug_acts = ctr_get(&c->bug_acts) + ctr_get(&rc->bug_acts);
    o->link_up = atomic_load(&t->link_up);
    o->tap_lost = atomic_load(&t->tap_lost);
}
