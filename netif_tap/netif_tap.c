/* SPDX-License-Identifier: MIT */
/* netif_tap: lwIP Ethernet driver on a Linux TAP (lwIP's ethernetif.c shape:
 * init, low_level_output, input), with one RX thread and a TX ring. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "netif_tap/netif_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
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
#include "port/log.h"
#include "port/port.h"

#define RX_BATCH         64 /* frames read per wake-up before polling again */
#define MAX_IOV          64
#define VLAN_EXTRA       4
#define REATTACH_POLL_MS 100 /* how often a lost TAP is looked for */

static const char *const tx_mode_names[] = {[TX_MODE_SYNC] = "sync", [TX_MODE_RING] = "ring"};
static const char *const txc_free_names[] = {
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

static int tap_writev(struct netif_tap *t, const struct iovec *iov, int n, size_t len,
                      uint64_t ts_ns);

/* Write the frame P to the TAP with writev() over the chain (unless the
 * fault injector drops it or sends its own version), report it to the frame
 * observer and count it. Used by the DMA thread and sync linkoutput. The
 * frame is stamped once, before the fault rules run: their events' frame_ts
 * and the capture's record carry that same stamp.
 * Returns 0 or -errno (counted, never fatal). */
int tap_write_chain(struct netif_tap *t, struct pbuf *p, enum tap_dir dir)
{
    struct iovec iov[MAX_IOV];
    uint64_t ts = capture_now_ns();
    int n = 0;

    (void)dir;
    for (struct pbuf *q = p; q && n < MAX_IOV; q = q->next) {
        if (q->len == 0)
            continue;
        iov[n].iov_base = q->payload;
        iov[n].iov_len = q->len;
        n++;
    }
    if (t->fault) {
        uint64_t no = atomic_fetch_add_explicit(&t->ctr.tx_seq, 1, memory_order_relaxed) + 1;
        switch (fault_tx(t->fault, iov, n, p->tot_len, no, ts)) {
        case FAULT_PASS:
            break;
        case FAULT_DROP:
            ctr_add(&t->ctr.tx_fault_drop, 1);
            return 0; /* lost on the wire: sent as far as lwIP can tell */
        case FAULT_TAKEN:
            return 0;
        }
    }
    return tap_writev(t, iov, n, p->tot_len, ts);
}

/* Write one contiguous frame stamped TS_NS in the capture (0: now). */
static int tap_write_raw_at(struct netif_tap *t, const uint8_t *data, size_t len, uint64_t ts_ns)
{
    struct iovec iov = {(void *)data, len};

    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.tx_link_down, 1);
        return 0;
    }
    return tap_writev(t, &iov, 1, len, ts_ns);
}

/* Write one contiguous frame (the fault injector's copies), stamped now. */
int tap_write_raw(struct netif_tap *t, const uint8_t *data, size_t len)
{
    return tap_write_raw_at(t, data, len, 0);
}

/* writev() the frame, then hand it to the frame observer stamped TS_NS
 * (0: the time just before the write). */
static int tap_writev(struct netif_tap *t, const struct iovec *iov, int n, size_t len,
                      uint64_t ts_ns)
{
    ssize_t w;

    if (!ts_ns)
        ts_ns = capture_now_ns();
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
    if (t->frame_cb)
        t->frame_cb(t->frame_arg, TAP_DIR_TX, iov, n, (size_t)w, ts_ns);
    return 0;
}

/* Deliver a frame the fault injector gives back (a duplicate, a delayed
 * one) to lwIP in a fresh PBUF_POOL chain, as if just received. */
static void fault_rx_deliver(void *arg, const uint8_t *data, size_t len)
{
    struct netif_tap *t = arg;
    struct pbuf *p;

    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.rx_link_down, 1);
        return;
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)(len + ETH_PAD_SIZE), PBUF_POOL);
    if (!p) {
        ctr_add(&t->ctr.rx_nomem, 1);
        return;
    }
#if ETH_PAD_SIZE
    pbuf_header(p, -ETH_PAD_SIZE);
#endif
    pbuf_take(p, data, (u16_t)len);
#if ETH_PAD_SIZE
    pbuf_header(p, ETH_PAD_SIZE);
#endif
    LINK_STATS_INC(link.recv);
    if (t->netif.input(p, &t->netif) != ERR_OK) {
        ctr_add(&t->ctr.rx_input_fail, 1);
        pbuf_free(p);
    }
}

static void fault_tx_write(void *arg, const uint8_t *data, size_t len, uint64_t ts_ns)
{
    tap_write_raw_at(arg, data, len, ts_ns);
}

/* Put the fault injector F between the TAP and lwIP (NULL: none). Set it
 * before netif_tap_start(). */
void netif_tap_set_faults(struct netif_tap *t, struct fault *f)
{
    struct fault_io io = {fault_rx_deliver, fault_tx_write, t};

    if (f)
        fault_set_io(f, &io);
    t->fault = f;
}

/* Frames queued in the TX ring and not yet given back. */
unsigned netif_tap_tx_in_flight(const struct netif_tap *t)
{
    return t->cfg.tx_mode == TX_MODE_RING ? tx_ring_used(t) : 0;
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
        err_t err = tx_ring_enqueue(t, p);
        if (err == ERR_OK)
            LINK_STATS_INC(link.xmit);
        return err;
    }
    atomic_fetch_add(&t->sync_writers, 1);
    if (atomic_load(&t->sync_stopped)) {
        atomic_fetch_sub(&t->sync_writers, 1);
        LINK_STATS_INC(link.drop);
        return ERR_IF;
    }
    int rc = tap_write_chain(t, p, TAP_DIR_TX);
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

/* Read one frame into a PBUF_POOL chain (readv straight into the pool
 * buffers: no copy) and hand it to lwIP: appended to batch B, or at once
 * through netif->input when B is NULL. Returns 1 after a frame, 0 when the
 * TAP is drained, -1 after a counted error. */
static int rx_one(struct netif_tap *t, struct rx_batch *b)
{
    struct iovec iov[MAX_IOV];
    struct pbuf *p;
    ssize_t r;
    int n = 0;
    uint64_t rx_ts;

    p = pbuf_alloc(PBUF_RAW, (u16_t)(t->rx_frame_max + ETH_PAD_SIZE), PBUF_POOL);
    if (!p) {
        /* Out of pool buffers: the frame is lost, as on an EMAC with no
         * free RX descriptor. Consume it so the TAP queue moves on. */
        uint8_t sink[64];
        r = read(t->fd, sink, sizeof(sink));
        if (r < 0)
            return errno == EAGAIN ? 0 : -1;
        ctr_add(&t->ctr.rx_nomem, 1);
        LINK_STATS_INC(link.memerr);
        LINK_STATS_INC(link.drop);
        return 1;
    }
#if ETH_PAD_SIZE
    pbuf_header(p, -ETH_PAD_SIZE);
#endif
    for (struct pbuf *q = p; q && n < MAX_IOV; q = q->next) {
        iov[n].iov_base = q->payload;
        iov[n].iov_len = q->len;
        n++;
    }
    do {
        r = readv(t->fd, iov, n);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
        int e = errno;
        pbuf_free(p);
        if (r < 0 && e == EAGAIN)
            return 0;
        ctr_add(&t->ctr.rx_errors, 1);
        LINK_STATS_INC(link.err);
        if (ctr_get(&t->ctr.rx_errors) < 10 || ctr_get(&t->ctr.rx_errors) % 1000 == 0)
            log_warn("tap", "%s: read: %s (%llu errors so far)", t->ifname,
                     r < 0 ? strerror(e) : "empty frame",
                     (unsigned long long)ctr_get(&t->ctr.rx_errors));
        return -1;
    }
    if ((size_t)r == t->rx_frame_max)
        ctr_add(&t->ctr.rx_oversize, 1); /* may have been cut: let lwIP judge */
    pbuf_realloc(p, (u16_t)r);
    rx_ts = capture_now_ns();
    ctr_add(&t->ctr.rx_frames, 1);
    ctr_add(&t->ctr.rx_bytes, (uint64_t)r);
    if (t->frame_cb) {
        n = 0;
        for (struct pbuf *q = p; q && n < MAX_IOV; q = q->next) {
            iov[n].iov_base = q->payload;
            iov[n].iov_len = q->len;
            n++;
        }
        t->frame_cb(t->frame_arg, TAP_DIR_RX, iov, n, (size_t)r, rx_ts);
    }
    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.rx_link_down, 1);
        pbuf_free(p);
        return 1;
    }
    if (t->fault) {
        size_t len = (size_t)r;

        n = 0;
        for (struct pbuf *q = p; q && n < MAX_IOV; q = q->next) {
            iov[n].iov_base = q->payload;
            iov[n].iov_len = q->len;
            n++;
        }
        switch (fault_rx(t->fault, iov, n, &len, ctr_get(&t->ctr.rx_frames), rx_ts)) {
        case FAULT_PASS:
            if (len < (size_t)r)
                pbuf_realloc(p, (u16_t)len);
            break;
        case FAULT_DROP:
            ctr_add(&t->ctr.rx_fault_drop, 1);
            pbuf_free(p);
            return 1;
        case FAULT_TAKEN:
            pbuf_free(p);
            return 1;
        }
    }
#if ETH_PAD_SIZE
    pbuf_header(p, ETH_PAD_SIZE);
#endif
    LINK_STATS_INC(link.recv);
    if (b) {
        b->p[b->n++] = p;
    } else if (t->netif.input(p, &t->netif) != ERR_OK) {
        ctr_add(&t->ctr.rx_input_fail, 1);
        pbuf_free(p);
    }
    return 1;
}

/* Inside the stack (tcpip thread, or holding the core lock): feed a batch
 * of frames to lwIP in order, as tcpip_input would have one by one
 * (Ethernet netif: ethernet_input). */
static void rx_feed(struct netif_tap *t, struct rx_batch *b)
{
    for (unsigned i = 0; i < b->n; i++) {
        if (ethernet_input(b->p[i], &t->netif) != ERR_OK) {
            ctr_add(&t->ctr.rx_input_fail, 1);
            pbuf_free(b->p[i]);
        }
    }
    b->n = 0;
}

/* tcpip thread: a batch posted by the RX thread. */
static void rx_batch_input(void *arg)
{
    struct rx_batch *b = arg;

    rx_feed(b->t, b);
    atomic_fetch_add_explicit(&b->t->rxb_cons, 1, memory_order_release);
}

/* RX thread: a free batch slot, or NULL when the tcpip thread is that far
 * behind (frames then go one by one through netif->input). */
static struct rx_batch *rx_batch_get(struct netif_tap *t)
{
    unsigned prod = atomic_load_explicit(&t->rxb_prod, memory_order_relaxed);

    if (prod - atomic_load_explicit(&t->rxb_cons, memory_order_acquire) >= RX_BATCH_SLOTS)
        return NULL;
    return &t->rxb[prod % RX_BATCH_SLOTS];
}

/* RX thread: hand a filled batch to the tcpip thread. A single frame goes
 * the ordinary way (netif->input), which costs no slot. */
static void rx_batch_post(struct netif_tap *t, struct rx_batch *b)
{
    if (b->n == 0)
        return;
#if LWIP_TCPIP_CORE_LOCKING_INPUT
    /* tcpip_input would run the stack right here under the core lock, once
     * per frame: take it once for the whole batch instead. */
    if (!b->msg) {
        LOCK_TCPIP_CORE();
        rx_feed(t, b);
        UNLOCK_TCPIP_CORE();
        ctr_add(&t->ctr.rx_batches, 1);
        return;
    }
#endif
    if (b->n > 1) {
        /* prod first: the tcpip thread may finish the batch (cons++) before
         * the post returns. */
        atomic_fetch_add_explicit(&t->rxb_prod, 1, memory_order_relaxed);
        if (lwipd_callbackmsg_trypost(b->msg) == ERR_OK) {
            ctr_add(&t->ctr.rx_batches, 1);
            return;
        }
        atomic_fetch_sub_explicit(&t->rxb_prod, 1, memory_order_relaxed);
    }
    for (unsigned i = 0; i < b->n; i++) {
        if (t->netif.input(b->p[i], &t->netif) != ERR_OK) {
            ctr_add(&t->ctr.rx_input_fail, 1);
            pbuf_free(b->p[i]);
        }
    }
    b->n = 0;
}

/* Return the batch slots' messages to their pool, once the tcpip thread has
 * run every batch posted (the RX thread has stopped: no new ones). False
 * when it has not within a second (a wedged stack): then the messages, and
 * the driver they point to, must stay allocated. */
static bool rx_batch_free(struct netif_tap *t)
{
    uint64_t deadline = port_now_ns() + 1000000000u;

    while (atomic_load_explicit(&t->rxb_cons, memory_order_acquire) !=
           atomic_load_explicit(&t->rxb_prod, memory_order_relaxed)) {
        if (port_now_ns() >= deadline)
            return false;
        sys_msleep(1);
    }
    for (int i = 0; i < RX_BATCH_SLOTS; i++) {
        if (t->rxb[i].msg)
            tcpip_callbackmsg_delete(t->rxb[i].msg);
        t->rxb[i].msg = NULL;
    }
    return true;
}

static void link_down_in_tcpip(void *arg)
{
    netif_tap_set_link(arg, false);
}

static void link_up_in_tcpip(void *arg)
{
    netif_tap_set_link(arg, true);
}

/* The TAP device went away (deleted: the fd reports POLLERR/POLLHUP). Pull
 * lwIP's cable, then wait for a TAP of the same name to come back and attach
 * to it with dup3() over the old descriptor, so that the TX path and the
 * carrier ioctl keep a valid t->fd throughout. The link returns to the state
 * it had before the loss. Returns 0 once re-attached, -1 to end the RX
 * thread (the driver is stopping, or the loss callback said so). */
static int rx_tap_lost(struct netif_tap *t, struct pollfd *stop)
{
    bool was_up = atomic_load(&t->link_up), quit;
    int last_err = 0;

    log_warn("tap", "%s: the TAP device went away; link down until it returns", t->ifname);
    ctr_add(&t->ctr.tap_losses, 1);
    atomic_store(&t->tap_lost, true);
    /* The owner hears of it before lwIP's link goes down (event order). */
    quit = t->loss_cb && t->loss_cb(t->loss_arg, true);
    if (was_up && tcpip_callback(link_down_in_tcpip, t) != ERR_OK)
        log_warn("tap", "%s: could not tell lwIP the link is down", t->ifname);
    if (quit)
        return -1;
    for (;;) {
        int fd, r = poll(stop, 1, REATTACH_POLL_MS);

        if (r > 0)
            return -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (if_nametoindex(t->ifname) == 0)
            continue;
        fd = tap_open(t->ifname, false);
        if (fd < 0) {
            if (fd != last_err)
                log_warn("tap", "%s: is back but cannot be attached: %s (retrying)", t->ifname,
                         strerror(-fd));
            last_err = fd;
            continue;
        }
        if (dup3(fd, t->fd, O_CLOEXEC) < 0) {
            log_err("tap", "%s: dup3: %s", t->ifname, strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
        break;
    }
    tap_set_carrier(t->fd, false); /* until lwIP's link is up again */
    atomic_store(&t->tap_lost, false);
    ctr_add(&t->ctr.tap_reattaches, 1);
    log_info("tap", "%s: the TAP is back; re-attached%s", t->ifname,
             was_up ? ", link up" : " (link stays down)");
    if (t->loss_cb)
        t->loss_cb(t->loss_arg, false);
    if (was_up && tcpip_callback(link_up_in_tcpip, t) != ERR_OK)
        log_warn("tap", "%s: could not tell lwIP the link is up", t->ifname);
    return 0;
}

static void *rx_thread(void *arg)
{
    struct netif_tap *t = arg;
    struct pollfd pfd[2] = {{.fd = t->fd, .events = POLLIN},
                            {.fd = t->rx_stop_fd, .events = POLLIN}};

    port_thread_register_current("tap-rx");
    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_err("tap", "poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents)
            break;
        if (pfd[0].revents & POLLNVAL) {
            log_err("tap", "%s: device error (revents %#x)", t->ifname, pfd[0].revents);
            break;
        }
        if (pfd[0].revents & (POLLERR | POLLHUP)) {
            if (rx_tap_lost(t, &pfd[1]) != 0)
                break;
            continue;
        }
        /* Drain the TAP: up to RX_BATCH frames per wake-up, handed over
         * RX_BATCH_MAX at a time. */
        /* With LWIP_TCPIP_CORE_LOCKING_INPUT the batch is fed to lwIP
         * right here under the core lock (a local one, without a message). */
        struct rx_batch local = {.t = t, .n = 0, .msg = NULL};
        struct rx_batch *b = t->rxb_enabled                  ? rx_batch_get(t)
                             : LWIP_TCPIP_CORE_LOCKING_INPUT ? &local
                                                             : NULL;

        for (int i = 0; i < RX_BATCH; i++) {
            if (rx_one(t, b) == 0)
                break;
            if (b && b->n == RX_BATCH_MAX) {
                rx_batch_post(t, b);
                if (b != &local)
                    b = rx_batch_get(t);
            }
        }
        if (b)
            rx_batch_post(t, b);
    }
    return NULL;
}

/* Open the TAP named in CFG and prepare the driver (no threads yet). On
 * failure returns NULL with *ERR = -errno (-ENODEV: no such TAP). */
struct netif_tap *netif_tap_new(const struct netif_tap_config *cfg, int *err)
{
    struct netif_tap *t = calloc(1, sizeof(*t));
    int mtu;

    *err = -ENOMEM;
    if (!t)
        return NULL;
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

    t->fd = tap_open(t->ifname, cfg->create);
    if (t->fd < 0) {
        *err = t->fd;
        goto err;
    }
    mtu = cfg->mtu > 0 ? cfg->mtu : tap_get_mtu(t->ifname);
    t->mtu = mtu > 0 ? mtu : 1500;
    t->rx_frame_max = (size_t)t->mtu + SIZEOF_ETH_HDR + VLAN_EXTRA;
    t->rx_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (t->rx_stop_fd < 0) {
        *err = -errno;
        goto err;
    }
    if (t->cfg.tx_mode == TX_MODE_RING) {
        *err = tx_ring_init(t);
        if (*err)
            goto err;
    }
    /* The host sees no carrier until lwIP's link comes up. */
    tap_set_carrier(t->fd, false);
    *err = 0;
    return t;
err:
    netif_tap_free(t);
    return NULL;
}

void netif_tap_free(struct netif_tap *t)
{
    if (!t)
        return;
    netif_tap_stop(t);
    if (!rx_batch_free(t)) {
        log_warn("tap",
                 "%s: frames still queued for a stack that does not run them: "
                 "the driver is left allocated",
                 t->ifname);
        return;
    }
    tx_ring_destroy(t);
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
        err = tx_ring_start(t);
        if (err)
            return err;
    }
    /* One message per batch slot, from MEMP_TCPIP_MSG_API. A pool too small
     * to spare them (small MCU profiles) means frames go one by one. */
    t->rxb_enabled = !LWIP_TCPIP_CORE_LOCKING_INPUT;
    for (int i = 0; t->rxb_enabled && i < RX_BATCH_SLOTS; i++) {
        t->rxb[i].t = t;
        if (!t->rxb[i].msg)
            t->rxb[i].msg = tcpip_callbackmsg_new(rx_batch_input, &t->rxb[i]);
        if (!t->rxb[i].msg) {
            log_info("tap",
                     "%s: TCPIP_MSG_API pool too small for RX batching; frames go one by one",
                     t->ifname);
            rx_batch_free(t);
            t->rxb_enabled = false;
        }
    }
    err = pthread_create(&t->rx_thread, NULL, rx_thread, t);
    if (err)
        return -err;
    t->rx_running = true;
    return 0;
}

/* Stop the driver threads (frames still queued are dropped). */
void netif_tap_stop(struct netif_tap *t)
{
    uint64_t one = 1;

    if (t->rx_running) {
        if (write(t->rx_stop_fd, &one, sizeof(one)) < 0)
            log_warn("tap", "stop: %s", strerror(errno));
        pthread_join(t->rx_thread, NULL);
        t->rx_running = false;
    }
    if (t->cfg.tx_mode == TX_MODE_RING) {
        tx_ring_stop(t);
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
        tx_ring_sweep(t);
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

void netif_tap_get_stats(const struct netif_tap *t, struct netif_tap_stats *o)
{
    const struct netif_tap_counters *c = &t->ctr;

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
    o->tx_ring_full = ctr_get(&c->tx_ring_full);
    o->tx_link_down = ctr_get(&c->tx_link_down);
    if (t->cfg.tx_mode == TX_MODE_RING) {
        o->ring_size = t->ring.size;
        o->ring_used = tx_ring_used(t);
        o->ring_max_used = ctr_get(&t->ring.max_used);
        o->ring_reclaimed_inline = ctr_get(&t->ring.reclaimed_inline);
        o->ring_doorbell_writes = ctr_get(&t->ring.doorbell_writes);
        o->ring_full_waits = ctr_get(&t->ring.full_waits);
    }
    o->txc_isr_runs = ctr_get(&c->txc_isr_runs);
    o->free_isr = ctr_get(&c->free_isr);
    o->free_callback = ctr_get(&c->free_callback);
    o->free_task = ctr_get(&c->free_task);
    o->free_callback_fail = ctr_get(&c->free_callback_fail);
    o->link_changes = ctr_get(&c->link_changes);
    o->rx_fault_drop = ctr_get(&c->rx_fault_drop);
    o->tx_fault_drop = ctr_get(&c->tx_fault_drop);
    o->irq_lost = ctr_get(&c->irq_lost);
    o->irq_spurious = ctr_get(&c->irq_spurious);
    o->tap_losses = ctr_get(&c->tap_losses);
    o->tap_reattaches = ctr_get(&c->tap_reattaches);
    o->rt_threads = ctr_get(&c->rt_threads);
    o->link_up = atomic_load(&t->link_up);
    o->tap_lost = atomic_load(&t->tap_lost);
}
