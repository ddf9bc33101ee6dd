/* SPDX-License-Identifier: MIT */
/* echo (7), discard (9) and chargen (19), TCP and UDP, on lwIP's raw API.
 *
 * Raw API: the callbacks run in the tcpip thread with no copy between the
 * stack and the application and no thread hop per segment. The TCP echo
 * holds what it received until tcp_write() accepts it and only then opens
 * the receive window (tcp_recved), so a slow reader back-pressures the
 * sender instead of growing a queue. Connection state lives in lwIP's heap
 * (mem_malloc), as firmware would keep it, so it shows in the heap stats and
 * in the leak baseline.
 *
 * A connection that moves nothing either way for the idle timeout (1 s
 * polls) is aborted, as firmware would: a peer that vanished, or whose
 * FIN or RST was lost, would otherwise hold its pcb and heap for good
 * (lwIP sends no keepalive unless asked, and its default is two hours).
 */
#include "lwipd_config.h"
#include "apps/echo.h"

#include <errno.h>
#include <string.h>

#include "lwip/mem.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "base/names.h"

static const uint16_t svc_ports[ECHO_SVC_COUNT] = {7, 9, 19};
static const char *const svc_names[] = {
    [ECHO_SVC_ECHO] = "echo",
    [ECHO_SVC_DISCARD] = "discard",
    [ECHO_SVC_CHARGEN] = "chargen",
};

/* Written in the tcpip thread only; read racily by the control thread. */
static struct echo_svc_stats svc_stats[ECHO_SVC_COUNT];
static unsigned idle_limit_s; /* 0: no idle timeout */

struct echo_conn {
    struct tcp_pcb *pcb;
    enum echo_service svc;
    struct pbuf *pending; /* echo: received, not yet accepted by tcp_write */
    u16_t pending_off;    /* bytes of pending's first pbuf already written */
    u8_t closing;         /* peer closed: close once pending is out */
    u32_t idle_polls;     /* 1 s polls since data last moved either way */
    u32_t chargen_line;
};

#define CHARGEN_LINE 72

/* The service's name ("echo", "discard", "chargen"); "?" for another S. */
const char *echo_service_name(enum echo_service s)
{
    return names_get(svc_names, NAMES_COUNT(svc_names), (unsigned)s);
}

void echo_get_stats(enum echo_service s, struct echo_svc_stats *out)
{
    *out = svc_stats[s];
}

/* RFC 864's rotating pattern: line N starts N characters into the 95
 * printable ASCII characters and is 72 characters plus CR LF. */
static void chargen_fill(char *buf, u32_t line)
{
    for (int i = 0; i < CHARGEN_LINE; i++)
        buf[i] = (char)(' ' + (line + (u32_t)i) % 95u);
    buf[CHARGEN_LINE] = '\r';
    buf[CHARGEN_LINE + 1] = '\n';
}

static void conn_free(struct echo_conn *c)
{
    if (c->pending)
        pbuf_free(c->pending);
    svc_stats[c->svc].tcp_active--;
    mem_free(c);
}

/* Close C's connection and free C. Returns ERR_ABRT when the pcb had to be
 * aborted (a callback must then return ERR_ABRT), else ERR_OK. */
static err_t conn_close(struct echo_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    conn_free(c);
    if (tcp_close(pcb) == ERR_OK)
        return ERR_OK;
    tcp_abort(pcb);
    return ERR_ABRT;
}

/* Echo: push as much of the pending chain as the send buffer takes. */
static void echo_push(struct echo_conn *c)
{
    u32_t written = 0;

    while (c->pending) {
        struct pbuf *q = c->pending;
        u16_t avail = (u16_t)(q->len - c->pending_off);
        u16_t room = (u16_t)LWIP_MIN(tcp_sndbuf(c->pcb), 0xffff);
        u16_t n = LWIP_MIN(avail, room);

        if (n == 0 && avail != 0)
            break;
        if (n > 0) {
            u8_t flags = TCP_WRITE_FLAG_COPY;
            if (n < avail || q->next)
                flags |= TCP_WRITE_FLAG_MORE;
            if (tcp_write(c->pcb, (const u8_t *)q->payload + c->pending_off, n, flags) != ERR_OK)
                break;
            c->pending_off = (u16_t)(c->pending_off + n);
            written += n;
        }
        if (c->pending_off == q->len) {
            /* Drop the head, keep the rest: the chain holds one reference
             * on q->next, so take our own before freeing the head (which
             * then stops at q->next). pbuf_dechain() would drop the rest. */
            c->pending = q->next;
            if (c->pending)
                pbuf_ref(c->pending);
            c->pending_off = 0;
            pbuf_free(q);
        }
    }
    if (written > 0) {
        svc_stats[c->svc].tcp_bytes_out += written;
        while (written > 0) {
            u16_t k = (u16_t)LWIP_MIN(written, 0xffffu);
            tcp_recved(c->pcb, k);
            written -= k;
        }
        tcp_output(c->pcb);
    }
}

static void chargen_push(struct echo_conn *c)
{
    char line[CHARGEN_LINE + 2];
    u32_t written = 0;

    while (tcp_sndbuf(c->pcb) >= sizeof(line) && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN / 2) {
        chargen_fill(line, c->chargen_line);
        if (tcp_write(c->pcb, line, sizeof(line), TCP_WRITE_FLAG_COPY | TCP_WRITE_FLAG_MORE) !=
            ERR_OK)
            break;
        c->chargen_line++;
        written += sizeof(line);
    }
    if (written > 0) {
        svc_stats[c->svc].tcp_bytes_out += written;
        tcp_output(c->pcb);
    }
}

static err_t tcp_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct echo_conn *c = arg;

    (void)pcb;
    if (!c) {
        if (p)
            pbuf_free(p);
        return ERR_OK;
    }
    if (!p || err != ERR_OK) {
        if (p)
            pbuf_free(p);
        c->closing = 1;
        return c->pending ? ERR_OK : conn_close(c);
    }
    svc_stats[c->svc].tcp_bytes_in += p->tot_len;
    c->idle_polls = 0;
    if (c->svc == ECHO_SVC_ECHO) {
        if (c->pending)
            pbuf_cat(c->pending, p);
        else
            c->pending = p;
        echo_push(c);
        return ERR_OK;
    }
    /* discard and chargen take and drop whatever arrives */
    tcp_recved(c->pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t tcp_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct echo_conn *c = arg;

    (void)pcb;
    if (!c)
        return ERR_OK;
    if (len)
        c->idle_polls = 0;
    if (c->svc == ECHO_SVC_ECHO) {
        echo_push(c);
        if (c->closing && !c->pending)
            return conn_close(c);
    } else if (c->svc == ECHO_SVC_CHARGEN && !c->closing) {
        chargen_push(c);
    }
    return ERR_OK;
}

static err_t tcp_poll_cb(void *arg, struct tcp_pcb *pcb)
{
    struct echo_conn *c = arg;

    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (idle_limit_s && ++c->idle_polls >= idle_limit_s) {
        svc_stats[c->svc].tcp_idle_closed++;
        tcp_arg(pcb, NULL);
        tcp_err(pcb, NULL);
        conn_free(c);
        tcp_abort(pcb); /* a RST: the peer is gone or mute */
        return ERR_ABRT;
    }
    return tcp_sent_cb(arg, pcb, 0);
}

static void tcp_err_cb(void *arg, err_t err)
{
    struct echo_conn *c = arg;

    (void)err;
    if (c) {
        svc_stats[c->svc].errors++;
        conn_free(c); /* the pcb is already gone */
    }
}

static err_t tcp_accept_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
    enum echo_service svc = (enum echo_service)(uintptr_t)arg;
    struct echo_conn *c;

    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    c = mem_malloc(sizeof(*c));
    if (!c) {
        svc_stats[svc].errors++;
        return ERR_MEM;
    }
    memset(c, 0, sizeof(*c));
    c->pcb = pcb;
    c->svc = svc;
    svc_stats[svc].tcp_accepted++;
    svc_stats[svc].tcp_active++;
    tcp_arg(pcb, c);
    tcp_recv(pcb, tcp_recv_cb);
    tcp_sent(pcb, tcp_sent_cb);
    tcp_err(pcb, tcp_err_cb);
    tcp_poll(pcb, tcp_poll_cb, 2); /* every 1 s (2 ticks of TCP's slow timer) */
    if (svc == ECHO_SVC_CHARGEN)
        chargen_push(c);
    return ERR_OK;
}

static void udp_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    enum echo_service svc = (enum echo_service)(uintptr_t)arg;
    struct pbuf *out = NULL;

    svc_stats[svc].udp_datagrams_in++;
    if (svc == ECHO_SVC_ECHO) {
        /* The received pbuf still has room for the headers in front. */
        if (udp_sendto(pcb, p, addr, port) == ERR_OK)
            svc_stats[svc].udp_datagrams_out++;
        else
            svc_stats[svc].errors++;
    } else if (svc == ECHO_SVC_CHARGEN) {
        u16_t len = (u16_t)(1 + LWIP_RAND() % 512);
        out = pbuf_alloc(PBUF_TRANSPORT, len, PBUF_RAM);
        if (out) {
            char line[CHARGEN_LINE + 2];
            u16_t off = 0;
            for (u32_t n = 0; off < len; n++) {
                u16_t k = (u16_t)LWIP_MIN(sizeof(line), (size_t)(len - off));
                chargen_fill(line, n);
                pbuf_take_at(out, line, k, off);
                off = (u16_t)(off + k);
            }
            if (udp_sendto(pcb, out, addr, port) == ERR_OK)
                svc_stats[svc].udp_datagrams_out++;
            else
                svc_stats[svc].errors++;
            pbuf_free(out);
        } else {
            svc_stats[svc].errors++;
        }
    }
    pbuf_free(p);
}

/* Listen on TCP and UDP 7, 9 and 19 (tcpip thread); TCP connections idle
 * for IDLE_S seconds are aborted (0: never). 0, -ENOMEM (no pcb) or
 * -EADDRINUSE; the services started before a failure keep running. */
int echo_start(unsigned idle_s)
{
    idle_limit_s = idle_s;
    for (int s = 0; s < ECHO_SVC_COUNT; s++) {
        struct tcp_pcb *pcb = tcp_new();
        struct udp_pcb *u = udp_new();

        if (!pcb || !u)
            return -ENOMEM;
        if (tcp_bind(pcb, IP_ADDR_ANY, svc_ports[s]) != ERR_OK ||
            udp_bind(u, IP_ADDR_ANY, svc_ports[s]) != ERR_OK)
            return -EADDRINUSE;
        pcb = tcp_listen(pcb);
        if (!pcb)
            return -ENOMEM;
        tcp_arg(pcb, (void *)(uintptr_t)s);
        tcp_accept(pcb, tcp_accept_cb);
        udp_recv(u, udp_recv_cb, (void *)(uintptr_t)s);
    }
    return 0;
}
