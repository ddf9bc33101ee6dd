/* SPDX-License-Identifier: MIT */
/* netif_tap's RX path: one thread polls the TAP, reads each frame straight
 * into a PBUF_POOL chain, shows it to the frame observer and the fault
 * injector, and hands frames to lwIP in batches (one tcpip-thread message
 * per batch). It also notices a TAP that went away and re-attaches when it
 * returns. */
#define _GNU_SOURCE
#include "lwipd_config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

#include "capture/capture.h"
#include "fault_inject/fault.h"
#include "netif_tap/netif_tap_priv.h"
#include "netif_tap/tap.h"
#include "port/lwip_compat.h"
#include "base/log.h"
#include "base/base.h"
#include "base/thread.h"

#define RX_BATCH         64  /* frames read per wake-up before polling again */
#define REATTACH_POLL_MS 100 /* how often a lost TAP is looked for */

static struct rx_batch *rx_batch_get(struct netif_tap *t);
static void rx_batch_post(struct netif_tap *t, struct rx_batch *b);
static void rx_frame(struct netif_tap *t, struct rx_fill *fl, struct pbuf *p, size_t r);

/* The RX thread's batch in the making, where its frames go in the order it
 * reads them (and the fault injector's in-line frames in theirs). Only the
 * RX thread touches it; t->rx_fill points to it while the thread runs. */
struct rx_fill {
    struct rx_batch *b;    /* NULL: frames go one by one through netif->input */
    struct rx_batch local; /* LWIP_TCPIP_CORE_LOCKING_INPUT: fed under the lock */
};

/* RX thread: P goes to lwIP behind every frame put before it: into the batch
 * being filled (handed over when full), or through netif->input when there
 * is no batch. */
static void rx_put(struct netif_tap *t, struct rx_fill *fl, struct pbuf *p)
{
    struct rx_batch *b = fl->b;

    if (!b) {
        if (t->netif.input(p, &t->netif) != ERR_OK) {
            ctr_add(&t->ctr.rx_input_fail, 1);
            pbuf_free(p);
        }
        return;
    }
    b->p[b->n++] = p;
    if (b->n == RX_BATCH_MAX) {
        rx_batch_post(t, b);
        if (b != &fl->local)
            fl->b = rx_batch_get(t);
    }
}

/* A frame the fault injector hands back, in a fresh PBUF_POOL chain as if
 * just received; NULL (counted) when the link is down or the pool empty. */
static struct pbuf *rx_copy(struct netif_tap *t, const uint8_t *data, size_t len)
{
    struct pbuf *p;

    if (!atomic_load_explicit(&t->link_up, memory_order_relaxed)) {
        ctr_add(&t->ctr.rx_link_down, 1);
        return NULL;
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)(len + ETH_PAD_SIZE), PBUF_POOL);
    if (!p) {
        ctr_add(&t->ctr.rx_nomem, 1);
        return NULL;
    }
#if ETH_PAD_SIZE
    pbuf_header(p, -ETH_PAD_SIZE);
#endif
    pbuf_take(p, data, (u16_t)len);
#if ETH_PAD_SIZE
    pbuf_header(p, ETH_PAD_SIZE);
#endif
    LINK_STATS_INC(link.recv);
    return p;
}

/* fault_io.rx_deliver (the delay line's thread): a held frame goes to lwIP
 * through netif->input. */
void rx_deliver_copy(void *arg, const uint8_t *data, size_t len)
{
    struct netif_tap *t = arg;
    struct pbuf *p = rx_copy(t, data, len);

    if (p && t->netif.input(p, &t->netif) != ERR_OK) {
        ctr_add(&t->ctr.rx_input_fail, 1);
        pbuf_free(p);
    }
}

/* fault_io.rx_inline (the RX thread, inside fault_rx): a frame and its
 * duplicates take the place of the frame being read, in the RX thread's
 * line of frames (rx_put). */
void rx_deliver_inline(void *arg, const uint8_t *data, size_t len)
{
    struct netif_tap *t = arg;
    struct pbuf *p = rx_copy(t, data, len);

    if (p && t->rx_fill) {
        rx_put(t, t->rx_fill, p);
    } else if (p && t->netif.input(p, &t->netif) != ERR_OK) {
        ctr_add(&t->ctr.rx_input_fail, 1);
        pbuf_free(p);
    }
}

/* Read one frame into a PBUF_POOL chain (readv straight into the pool
 * buffers: no copy) and hand it to lwIP through FL (rx_put). Returns 1
 * after a frame, 0 when the TAP is drained, -1 after a counted error. */
static int rx_one(struct netif_tap *t, struct rx_fill *fl)
{
    struct iovec iov[NETIF_TAP_MAX_IOV];
    struct pbuf *p;
    ssize_t r;
    int n;

    p = pbuf_alloc(PBUF_RAW, (u16_t)(t->rx_frame_max + ETH_PAD_SIZE), PBUF_POOL);
    if (!p && (t->cfg.driver_bugs & DRIVER_BUG_RX_NO_REFILL)) {
        /* The buggy driver: the descriptor whose buffer could not be
         * replaced is never re-armed, and the DMA engine stops at it. */
        if (!atomic_exchange(&t->rx_dead, true)) {
            ctr_add(&t->ctr.rx_nomem, 1);
            ctr_add(&t->ctr.bug_acts, 1);
            LINK_STATS_INC(link.memerr);
            log_warn("tap",
                     "%s: driver bug rx-no-refill: RX buffer allocation failed; "
                     "RX stops for good",
                     t->ifname);
        }
        return 0;
    }
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
    n = pbuf_to_iov(p, iov, NETIF_TAP_MAX_IOV);
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
    rx_frame(t, fl, p, (size_t)r);
    return 1;
}

/* A frame just read: P holds it (R bytes, ETH_PAD_SIZE hidden). Count it,
 * show it to the frame observer and the fault injector, and hand it to lwIP
 * through FL (rx_put), or drop it. P is consumed either way. */
static void rx_frame(struct netif_tap *t, struct rx_fill *fl, struct pbuf *p, size_t r)
{
    struct iovec iov[NETIF_TAP_MAX_IOV];
    int n;
    bool link_up, noted;

    ctr_add(&t->ctr.rx_frames, 1);
    ctr_add(&t->ctr.rx_bytes, (uint64_t)r);
    link_up = atomic_load_explicit(&t->link_up, memory_order_relaxed);
    /* While rx rules may act on it, the frame is captured after them, as
     * read (a copy: they change it in place), with what they did. */
    noted = t->fault && link_up && fault_active(t->fault, FAULT_RX) && r <= sizeof(t->rx_copy);
    n = pbuf_to_iov(p, iov, NETIF_TAP_MAX_IOV);
    if (!noted)
        netif_tap_report(t, TAP_DIR_RX, iov, n, r, 0, NULL);
    if (!link_up) {
        ctr_add(&t->ctr.rx_link_down, 1);
        pbuf_free(p);
        return;
    }
    if (t->fault) {
        struct capture_note note = {.nacts = 0};
        size_t len = r;
        enum fault_verdict v;

        if (noted)
            pbuf_copy_partial(p, t->rx_copy, (u16_t)r, 0);
        v = fault_rx(t->fault, iov, n, &len, noted ? &note : NULL);
        if (noted) {
            struct iovec copy = {t->rx_copy, r};
            netif_tap_report(t, TAP_DIR_RX, &copy, 1, r, 0, &note);
        }
        switch (v) {
        case FAULT_PASS:
            if (len < r)
                pbuf_realloc(p, (u16_t)len);
            break;
        case FAULT_DROP:
            ctr_add(&t->ctr.rx_fault_drop, 1);
            pbuf_free(p);
            return;
        case FAULT_TAKEN:
            pbuf_free(p);
            return;
        }
    }
#if ETH_PAD_SIZE
    pbuf_header(p, ETH_PAD_SIZE);
#endif
    LINK_STATS_INC(link.recv);
    rx_put(t, fl, p);
}

/* See netif_tap.h. The frame takes the RX thread's way from the read on
 * (rx_frame), in a batch of its own fed at once (rx_batch_post). */
int netif_tap_rx_inject(struct netif_tap *t, const uint8_t *data, size_t len)
{
    struct rx_fill fill = {.b = NULL, .local = {.t = t, .n = 0, .msg = NULL}};
    struct pbuf *p;

    if (len >= t->rx_frame_max) {
        len = t->rx_frame_max; /* what a read of the TAP would have given */
        ctr_add(&t->ctr.rx_oversize, 1);
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)(len + ETH_PAD_SIZE), PBUF_POOL);
    if (!p) {
        ctr_add(&t->ctr.rx_nomem, 1);
        return -ENOMEM;
    }
#if ETH_PAD_SIZE
    pbuf_header(p, -ETH_PAD_SIZE);
#endif
    pbuf_take(p, data, (u16_t)len);
    fill.b = LWIP_TCPIP_CORE_LOCKING_INPUT ? &fill.local : NULL;
    t->rx_fill = &fill;
    rx_frame(t, &fill, p, len);
    t->rx_fill = NULL;
    if (fill.b)
        rx_batch_post(t, fill.b);
    return 0;
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
bool rx_free(struct netif_tap *t)
{
    uint64_t deadline = base_now_ns() + 1000000000u;

    while (atomic_load_explicit(&t->rxb_cons, memory_order_acquire) !=
           atomic_load_explicit(&t->rxb_prod, memory_order_relaxed)) {
        if (base_now_ns() >= deadline)
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
    struct rx_fill fill = {.b = NULL, .local = {.t = t, .n = 0, .msg = NULL}};

    thread_register_current("tap-rx");
    t->rx_fill = &fill;
    for (;;) {
        /* rx-no-refill after its failure: the TAP is never read again */
        pfd[0].fd = atomic_load(&t->rx_dead) ? -1 : t->fd;
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
        fill.b = t->rxb_enabled                  ? rx_batch_get(t)
                 : LWIP_TCPIP_CORE_LOCKING_INPUT ? &fill.local
                                                 : NULL;
        for (int i = 0; i < RX_BATCH; i++) {
            if (rx_one(t, &fill) == 0)
                break;
        }
        if (fill.b)
            rx_batch_post(t, fill.b);
    }
    t->rx_fill = NULL;
    return NULL;
}

/* Start the RX thread, with its batch messages when the pool can spare
 * them. 0 or -errno. */
int rx_start(struct netif_tap *t)
{
    int err;

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
            rx_free(t);
            t->rxb_enabled = false;
        }
    }
    err = pthread_create(&t->rx_thread, NULL, rx_thread, t);
    if (err)
        return -err;
    t->rx_running = true;
    return 0;
}

/* Stop the RX thread (if running) and wait for it. */
void rx_stop(struct netif_tap *t)
{
    uint64_t one = 1;

    if (!t->rx_running)
        return;
    if (write(t->rx_stop_fd, &one, sizeof(one)) < 0)
        log_warn("tap", "stop: %s", strerror(errno));
    pthread_join(t->rx_thread, NULL);
    t->rx_running = false;
}
