/* SPDX-License-Identifier: MIT */
/* iperf3 data streams on lwIP's raw API, shared by server and client:
 * sending, receiving, counting, pacing, the omit period.
 *
 * Why the raw API: its callbacks run inside lwIP, under lwIP's core lock,
 * on the pbufs the driver filled. With the default lwipopts
 * (LWIP_TCPIP_CORE_LOCKING_INPUT=1) the input side (recv, sent, accept,
 * connected, UDP recv) runs in the driver's RX thread, which feeds each
 * batch of frames to lwIP itself while holding the core lock; the tcpip
 * thread runs lwIP's timers (our ticks, tcp_poll) and the control socket's
 * stack_call()s, and the input too with LWIP_TCPIP_CORE_LOCKING_INPUT=0
 * (port/opts/small). Either way the core lock serializes all of it, so the
 * state here needs no lock of its own (only the stats the control thread
 * reads are racy). A received segment is counted and freed where it lands
 * (no hop to an application thread, no copy into a socket buffer), and a
 * sender hands lwIP references to one static payload buffer
 * (tcp_write without TCP_WRITE_FLAG_COPY; UDP datagrams are a small header
 * pbuf chained to a PBUF_ROM pbuf over the same buffer), so nothing is
 * copied on the way out either until the driver's writev(). The netconn
 * and socket APIs would add a thread switch and a copy per segment.
 *
 * Counting follows iperf3: a receiver counts what arrives between
 * TEST_START and TEST_END, a sender what lwIP accepted (tcp_write or
 * udp_sendto returned ERR_OK). At the end of the omit period both remember
 * their counters and restart the clock, so the results cover only the
 * measured part. Pacing (-b, per stream, TCP and UDP) is "send while the
 * average rate since the start is below the target", driven by a 1 ms
 * tick; unpaced TCP is driven by lwIP's sent callback.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/stats.h"

#include "apps/iperf3/iperf3_ctrl.h"
#include "apps/iperf3/iperf3_priv.h"

#define PAYLOAD_SIZE  65536u
#define UDP_BURST_MAX 256 /* datagrams per stream per tick */
#define TICK_FAST_MS  1
#define TICK_SLOW_MS  100

/* The payload every sender sends, again and again: random bytes, or
 * "0123456789..." for --repeating-payload. Filled once, never written
 * again, so lwIP may keep references into it. */
static struct {
    uint8_t random[PAYLOAD_SIZE];
    uint8_t pattern[PAYLOAD_SIZE];
    bool ready;
} payload;

static void payload_init(void)
{
    if (payload.ready)
        return;
    iperf3_priv_random(payload.random, PAYLOAD_SIZE);
    for (size_t i = 0; i < PAYLOAD_SIZE; i++)
        payload.pattern[i] = (uint8_t)('0' + i % 10);
    payload.ready = true;
}

static const uint8_t *payload_of(const struct iperf3_streams *d)
{
    return d->prm.repeating_payload ? payload.pattern : payload.random;
}

/* ---- data streams ------------------------------------------------------------ */

/* Prepare D for a test with parameters P and NSTREAMS data connections.
 * PROGRESS (may be NULL) is called with ARG when the send budget (-n/-k
 * on a sending client) is used up or RX_TARGET bytes have been received.
 * 0 or -ENOMEM. */
int iperf3_stream_init(struct iperf3_streams *d, const struct iperf3_params *p, unsigned nstreams,
                       iperf3_stream_progress_cb progress, void *arg)
{
    memset(d, 0, sizeof(*d));
    payload_init();
    d->s = calloc(nstreams ? nstreams : 1, sizeof(*d->s));
    if (!d->s)
        return -ENOMEM;
    d->prm = *p;
    d->cap = nstreams;
    d->send_left = UINT64_MAX;
    d->progress = progress;
    d->arg = arg;
    return 0;
}

/* The -n/-k target was reached. Not during the omit period: the budget
 * is counted after it (and refilled when it ends), as iperf3 does. */
static void hit_target(struct iperf3_streams *d)
{
    if (d->target_hit || d->omitting)
        return;
    d->target_hit = true;
    if (d->progress)
        d->progress(d->arg);
}

/* Bytes stream S may send now under -b (pacing) and -n/-k (budget). */
static uint64_t send_allowance(struct iperf3_stream *s, uint64_t now)
{
    struct iperf3_streams *d = s->d;
    uint64_t allow = d->send_left;

    if (d->prm.bandwidth) {
        double due = (double)d->prm.bandwidth / 8.0 * (double)(now - d->start_ns) / 1e9;
        uint64_t due_b = due > (double)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)due;
        uint64_t pace = due_b > s->bytes ? due_b - s->bytes : 0;

        allow = LWIP_MIN(allow, pace);
    }
    return allow;
}

static void tcp_pump(struct iperf3_stream *s);

static void omit_end(struct iperf3_streams *d, uint64_t now)
{
    d->omitting = false;
    d->stats_start_ns = now;
    if (d->send_budget)
        d->send_left = d->send_budget;
    for (unsigned i = 0; i < d->n; i++) {
        struct iperf3_stream *s = &d->s[i];

        s->bytes_omit = s->bytes;
        s->packets_omit = s->sender ? s->packets : s->rx.max_seq;
        s->errors_omit = s->rx.errors;
        s->rx.jitter = 0;
        s->rx.have_transit = false;
    }
    for (unsigned i = 0; d->sending && !d->prm.udp && i < d->n; i++)
        tcp_pump(&d->s[i]); /* a budget used up during omit starts over */
}

/* End the omit period at the first packet past it, not at the next tick:
 * a tick that comes late (a busy CPU) would move bytes from one side of
 * the mark to the other. Cheap: only while omitting. */
static void omit_check(struct iperf3_streams *d, uint64_t now)
{
    if (d->omitting && now >= d->start_ns + (uint64_t)d->prm.omit * 1000000000u)
        omit_end(d, now);
}

static void check_rx_target(struct iperf3_streams *d)
{
    uint64_t rx = 0;

    if (!d->rx_target)
        return;
    for (unsigned i = 0; i < d->n; i++)
        if (!d->s[i].sender)
            rx += d->s[i].bytes - d->s[i].bytes_omit;
    if (rx >= d->rx_target)
        hit_target(d);
}

static void tcp_pump(struct iperf3_stream *s)
{
    struct iperf3_streams *d = s->d;
    const uint8_t *buf = payload_of(d);
    uint64_t allow, now;
    uint32_t written = 0;

    if (!d->sending || !s->sender || !s->pcb || s->eof)
        return;
    now = iperf3_priv_now_ns();
    omit_check(d, now);
    allow = send_allowance(s, now);
    while (allow > 0) {
        uint32_t mss = LWIP_MAX(tcp_mss(s->pcb), 1);
        uint32_t contig = PAYLOAD_SIZE - s->buf_off;
        uint32_t n;

        if (contig < mss) { /* the content does not matter: start over */
            s->buf_off = 0;
            contig = PAYLOAD_SIZE;
        }
        n = (uint32_t)LWIP_MIN(allow, (uint64_t)tcp_sndbuf(s->pcb));
        n = LWIP_MIN(n, contig);
        /* Whole segments only, so neither Nagle nor a delayed ACK ever
         * holds a runt back; a short write only for the end of -n/-k. */
        if (n < mss && n < d->send_left)
            break;
        if (n > mss)
            n -= n % mss;
        if (tcp_sndqueuelen(s->pcb) + 4 >= TCP_SND_QUEUELEN)
            break;
        if (tcp_write(s->pcb, buf + s->buf_off, (u16_t)n, TCP_WRITE_FLAG_MORE) != ERR_OK)
            break;
        s->buf_off = (s->buf_off + n) % PAYLOAD_SIZE;
        s->bytes += n;
        written += n;
        allow -= n;
        if (d->send_left != UINT64_MAX)
            d->send_left -= n;
    }
    if (written)
        tcp_output(s->pcb);
    if (d->send_left == 0)
        hit_target(d);
}

static err_t data_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iperf3_stream *s = arg;
    struct iperf3_streams *d = s->d;

    if (!p) {
        /* The peer closed this stream: close our side too. */
        s->eof = true;
        s->pcb = NULL;
        iperf3_ctrl_linger(pcb);
        return ERR_OK;
    }
    if (err == ERR_OK && d->counting && !s->sender) {
        if (d->omitting)
            omit_check(d, iperf3_priv_now_ns());
        s->bytes += p->tot_len;
        check_rx_target(d);
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t data_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb, (void)len;
    tcp_pump(arg);
    return ERR_OK;
}

static err_t data_tcp_poll(void *arg, struct tcp_pcb *pcb)
{
    (void)pcb;
    tcp_pump(arg);
    return ERR_OK;
}

static void data_tcp_err(void *arg, err_t err)
{
    struct iperf3_stream *s = arg;

    (void)err;
    s->pcb = NULL; /* lwIP has freed it */
    s->eof = true;
}

static struct iperf3_stream *stream_new(struct iperf3_streams *d, bool sender)
{
    struct iperf3_stream *s;

    if (d->n >= d->cap)
        return NULL;
    s = &d->s[d->n];
    memset(s, 0, sizeof(*s));
    s->d = d;
    s->id = iperf3_proto_stream_id(d->n);
    s->sender = sender;
    d->n++;
    return s;
}

/* Add the TCP data connection PCB as the next stream (ids in call order).
 * The stream takes over PCB's callbacks. NULL when all streams exist. */
struct iperf3_stream *iperf3_stream_add_tcp(struct iperf3_streams *d, struct tcp_pcb *pcb,
                                            bool sender)
{
    struct iperf3_stream *s = stream_new(d, sender);

    if (!s)
        return NULL;
    s->pcb = pcb;
    if (d->prm.nodelay)
        tcp_nagle_disable(pcb);
    pcb->tos = (u8_t)d->prm.tos;
    tcp_arg(pcb, s);
    tcp_recv(pcb, data_tcp_recv);
    tcp_sent(pcb, data_tcp_sent);
    tcp_err(pcb, data_tcp_err);
    tcp_poll(pcb, data_tcp_poll, 1);
    return s;
}

/* Add a UDP stream to PEER:PORT, sent from UPCB (removed with the stream
 * when OWN). NULL when all streams exist. */
struct iperf3_stream *iperf3_stream_add_udp(struct iperf3_streams *d, struct udp_pcb *upcb,
                                            bool own, const ip_addr_t *peer, u16_t port,
                                            bool sender)
{
    struct iperf3_stream *s = stream_new(d, sender);

    if (!s)
        return NULL;
    s->upcb = upcb;
    s->own_upcb = own;
    ip_addr_copy(s->peer, *peer);
    s->peer_port = port;
    return s;
}

/* The UDP stream whose peer is ADDR:PORT, or NULL. */
struct iperf3_stream *iperf3_stream_find_udp(struct iperf3_streams *d, const ip_addr_t *addr,
                                             u16_t port)
{
    for (unsigned i = 0; i < d->n; i++) {
        if (d->s[i].peer_port == port && ip_addr_cmp(&d->s[i].peer, addr))
            return &d->s[i];
    }
    return NULL;
}

/* A datagram P arrived on stream S: count it if S receives and the test
 * runs. Frees P. */
void iperf3_stream_udp_input(struct iperf3_stream *s, struct pbuf *p)
{
    struct iperf3_streams *d = s->d;
    uint8_t hdr[16];
    uint64_t seq;
    double sent_s;
    size_t hl = iperf3_proto_udp_hdr_size(d->prm.udp_counters_64bit);

    if (d->counting && !s->sender && pbuf_copy_partial(p, hdr, (u16_t)hl, 0) == hl &&
        iperf3_proto_udp_hdr_get(hdr, hl, d->prm.udp_counters_64bit, &sent_s, &seq) == 0) {
        uint64_t now = iperf3_priv_now_ns();
        double now_s = (double)now / 1e9;

        omit_check(d, now);
        s->bytes += p->tot_len;
        iperf3_proto_udp_rx_count(&s->rx, seq, now_s - sent_s);
        check_rx_target(d);
    }
    pbuf_free(p);
}

/* One datagram of the configured length: a header pbuf chained to a
 * PBUF_ROM pbuf over the static payload. NULL when out of pbufs. */
static struct pbuf *udp_datagram(struct iperf3_stream *s, uint64_t now_ns)
{
    struct iperf3_streams *d = s->d;
    size_t hl = iperf3_proto_udp_hdr_size(d->prm.udp_counters_64bit);
    struct pbuf *h, *body;

    h = pbuf_alloc(PBUF_TRANSPORT, (u16_t)hl, PBUF_RAM);
    if (!h)
        return NULL;
    iperf3_proto_udp_hdr_put(h->payload, now_ns / 1000u, s->packets + 1, d->prm.udp_counters_64bit);
    if (d->prm.len == hl)
        return h;
    body = pbuf_alloc(PBUF_RAW, (u16_t)(d->prm.len - hl), PBUF_ROM);
    if (!body) {
        pbuf_free(h);
        return NULL;
    }
    body->payload = (void *)(uintptr_t)(payload_of(d) + hl);
    pbuf_cat(h, body);
    return h;
}

/* Whether lwIP has a fragment reference for each fragment of the next
 * datagram. ip4_frag() sends the fragments it gets one for and fails at
 * the first it does not; such a half-sent datagram holds the receiver's
 * reassembly until it times out. (The TX ring keeps the references.) */
static bool udp_frag_refs_free(const struct iperf3_streams *d)
{
#if IP_FRAG && !LWIP_NETIF_TX_SINGLE_PBUF && MEMP_STATS
    const struct stats_mem *m = lwip_stats.memp[MEMP_FRAG_PBUF];
    unsigned mtu = netif_default ? netif_default->mtu : 1500;

    return (unsigned)(m->avail - m->used) >= iperf3_params_udp_frag_refs(d->prm.len, mtu);
#else
    (void)d;
    return true;
#endif
}

static void udp_pump(struct iperf3_stream *s, uint64_t now)
{
    struct iperf3_streams *d = s->d;
    unsigned max = d->prm.burst ? d->prm.burst : UDP_BURST_MAX;

    if (!d->sending || !s->sender || !s->upcb)
        return;
    omit_check(d, now);
    for (unsigned k = 0; k < max; k++) {
        struct pbuf *p;
        err_t e;

        if (d->send_left < d->prm.len)
            break; /* -n/-k budget used up */
        if (d->prm.bandwidth && send_allowance(s, now) == 0)
            break; /* ahead of the target rate */
        if (!udp_frag_refs_free(d))
            break; /* all fragments or none: the next tick */
        p = udp_datagram(s, now);
        if (!p) {
            d->udp_send_errors++;
            break;
        }
        e = udp_sendto(s->upcb, p, &s->peer, s->peer_port);
        pbuf_free(p);
        if (e != ERR_OK) {
            d->udp_send_errors++; /* TX ring full, no ARP entry, ...: next tick */
            break;
        }
        s->packets++;
        s->bytes += d->prm.len;
        if (d->send_left != UINT64_MAX)
            d->send_left -= d->prm.len;
    }
    if (d->send_left < d->prm.len)
        hit_target(d);
}

/* TEST_START: clocks start, receivers count from now. */
void iperf3_stream_start(struct iperf3_streams *d)
{
    d->start_ns = d->stats_start_ns = iperf3_priv_now_ns();
    d->counting = true;
    d->omitting = d->prm.omit > 0;
}

/* TEST_RUNNING: senders start. */
void iperf3_stream_start_sending(struct iperf3_streams *d)
{
    d->sending = true;
    for (unsigned i = 0; i < d->n; i++) {
        if (!d->prm.udp)
            tcp_pump(&d->s[i]);
    }
}

/* Periodic work while a test runs: the end of the omit period and paced
 * or UDP sending. Returns when it wants to run again, in ms. */
unsigned iperf3_stream_tick(struct iperf3_streams *d)
{
    uint64_t now = iperf3_priv_now_ns();
    unsigned next = TICK_SLOW_MS;
    bool fast = false;

    if (!d->counting)
        return next;
    omit_check(d, now);
    if (d->omitting) {
        uint64_t end = d->start_ns + (uint64_t)d->prm.omit * 1000000000u;
        next = (unsigned)LWIP_MIN((uint64_t)TICK_SLOW_MS, (end - now) / 1000000u + 1);
    }
    for (unsigned i = 0; d->sending && i < d->n; i++) {
        struct iperf3_stream *s = &d->s[i];

        if (!s->sender)
            continue;
        if (d->prm.udp) {
            udp_pump(s, now);
            fast = true;
        } else if (d->prm.bandwidth) {
            tcp_pump(s);
            fast = true;
        }
    }
    return fast ? TICK_FAST_MS : next;
}

/* TEST_END: stop counting and sending, stamp the end. */
void iperf3_stream_stop(struct iperf3_streams *d)
{
    if (d->counting)
        d->end_ns = iperf3_priv_now_ns();
    d->counting = false;
    d->sending = false;
}

/* Send FIN on every TCP data connection after what is queued (at
 * TEST_END: a 3.12 client drains a reverse stream until its end), keeping
 * them: whatever still arrives is dropped. */
void iperf3_stream_shutdown(struct iperf3_streams *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        if (d->s[i].pcb)
            tcp_shutdown(d->s[i].pcb, 0, 1);
    }
}

/* End every data connection HOW (iperf3_ctrl_close) and free the
 * streams. The counters are gone afterwards: take the results first. */
void iperf3_stream_release(struct iperf3_streams *d, enum iperf3_ctrl_close how)
{
    for (unsigned i = 0; i < d->n; i++) {
        struct iperf3_stream *s = &d->s[i];

        if (s->pcb) {
            iperf3_ctrl_close(s->pcb, how);
            s->pcb = NULL;
        }
        if (s->upcb && s->own_upcb)
            udp_remove(s->upcb);
        s->upcb = NULL;
    }
    free(d->s);
    d->s = NULL;
    d->n = d->cap = 0;
}

/* Seconds the results cover: end of omit to TEST_END (or to now). */
double iperf3_stream_seconds(const struct iperf3_streams *d)
{
    uint64_t end = d->end_ns ? d->end_ns : iperf3_priv_now_ns();

    return end > d->stats_start_ns ? (double)(end - d->stats_start_ns) / 1e9 : 0.0;
}

/* Stream I's entry for the results JSON, with 3.12's meaning: bytes after
 * the omit period; packets and errors as totals (the peer subtracts its
 * own omit-time counts); retransmits unknown. */
void iperf3_stream_result(const struct iperf3_streams *d, unsigned i,
                          struct iperf3_results_stream *out)
{
    const struct iperf3_stream *s = &d->s[i];

    memset(out, 0, sizeof(*out));
    out->id = s->id;
    out->bytes = s->bytes - s->bytes_omit;
    out->retransmits = -1;
    if (d->prm.udp) {
        out->packets = (int64_t)(s->sender ? s->packets : s->rx.max_seq);
        out->errors = s->sender ? 0 : (int64_t)s->rx.errors;
        out->jitter = s->sender ? 0 : s->rx.jitter;
    }
    out->start_time = 0;
    out->end_time = iperf3_stream_seconds(d);
}

/* Set the -n/-k end condition of a started test to BUDGET bytes after
 * the omit period: what the senders may write when this end sends, else
 * what is to be received before PROGRESS is called. */
void iperf3_stream_set_budget(struct iperf3_streams *d, uint64_t budget)
{
    bool sends = false;

    for (unsigned i = 0; i < d->n; i++)
        sends |= d->s[i].sender;
    if (sends)
        d->send_left = d->send_budget = budget;
    else
        d->rx_target = budget;
}

/* Has everything the TCP senders wrote been acknowledged? */
bool iperf3_stream_drained(const struct iperf3_streams *d)
{
    for (unsigned i = 0; i < d->n; i++) {
        const struct tcp_pcb *pcb = d->s[i].pcb;

        if (d->s[i].sender && pcb && (pcb->unsent || pcb->unacked))
            return false;
    }
    return true;
}

/* Whole-test byte counts (omit period included), received and sent. */
void iperf3_stream_totals(const struct iperf3_streams *d, uint64_t *rx, uint64_t *tx)
{
    *rx = *tx = 0;
    for (unsigned i = 0; i < d->n; i++) {
        if (d->s[i].sender)
            *tx += d->s[i].bytes;
        else
            *rx += d->s[i].bytes;
    }
}

/* Is there a stream with iperf3 id ID (as the peer's results name it)? */
bool iperf3_stream_has_id(const struct iperf3_streams *d, uint32_t id)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->s[i].id == id)
            return true;
    return false;
}
