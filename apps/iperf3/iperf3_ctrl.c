/* SPDX-License-Identifier: MIT */
/* The iperf3 control connection, for both ends, and how iperf3 ends a TCP
 * connection.
 *
 * Input is appended to a buffer and cut into messages by iperf3_ctrl_input:
 * the owner says through ops->expect whether a JSON message or a state
 * byte comes next (it depends on its state machine, not on the bytes).
 * Output goes to a buffer first and to lwIP as its send buffer takes it
 * (again from lwIP's sent callback); iperf3_ctrl_kick pushes it from the
 * owner's fast tick.
 *
 * Ending a connection (iperf3_ctrl_close): what is queued is still sent,
 * whatever still arrives is read and dropped. The end that closes first
 * keeps the TIME_WAIT, and lwIP's answers a new SYN from the same port
 * with a bare ACK (and ignores the RST that follows: lwIP 2.1.3 tcp_in.c),
 * which hangs a client reusing the port (iperf3 --cport) for 2 x MSL. So
 * the server lets the peer close first where iperf3's protocol has the
 * client close (the control connection after IPERF_DONE, a refused
 * connection after the refusal), with a bounded wait. Data connections
 * cannot wait so: a 3.12 client reads a reverse stream after TEST_END
 * until its EOF, so it gets our FIN then; and a client that closed first
 * would keep the TIME_WAIT on its --cport port (EADDRINUSE next time). The
 * server resets them once the client's results are in: an RST while a
 * 3.12 client still reads makes it fail ("Connection reset by peer"), but
 * it no longer reads them then.
 */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/iperf3/iperf3_priv.h"
#include "apps/iperf3/iperf3_proto.h"

#define LINGER_POLLS 10 /* x 1 s: then a lingering connection is aborted */
#define AWAIT_POLLS  2  /* x 1 s: the wait for the peer to close first */

static void ctrl_flush(struct iperf3_ctrl *c);

/* ---- ending: connections we are done with -------------------------------- */

/* The state of a connection being ended lives in its tcp_arg, so that it
 * needs no memory of its own: whether we still wait for the peer to close
 * first, whether our FIN is queued, and the polls counted since. */
#define END_FIN      1u /* our FIN is queued */
#define END_AWAIT    2u /* waiting for the peer's FIN before sending ours */
#define END_POLLS(v) ((v) >> 2)
#define END_POLL     4u /* one poll more */

static err_t end_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg, (void)err;
    if (p) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    /* The peer closed too: let lwIP finish and free the pcb (if it closed
     * first, we are in CLOSE_WAIT, go to LAST_ACK and keep no TIME_WAIT). */
    tcp_recv(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static err_t end_poll(void *arg, struct tcp_pcb *pcb)
{
    uintptr_t v = (uintptr_t)arg + END_POLL;

    if ((v & END_AWAIT) && END_POLLS(v) > AWAIT_POLLS)
        v = 0; /* a peer that waits for us to close: FIN, then linger */
    if (!(v & (END_FIN | END_AWAIT)) && tcp_shutdown(pcb, 0, 1) == ERR_OK)
        v |= END_FIN;
    if (!(v & END_AWAIT) && END_POLLS(v) > LINGER_POLLS) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_arg(pcb, (void *)v);
    return ERR_OK;
}

/* Hand PCB back to lwIP, ending it HOW: our callbacks and state are
 * detached at once (the caller may free its own state), what is queued
 * is still sent, incoming data is read and dropped until the peer closes.
 *
 * IPERF3_CLOSE_FIN: our FIN follows what is queued; after LINGER_POLLS
 * seconds without the peer's FIN the connection is aborted. lwIP keeps a
 * TIME_WAIT then, which answers a new SYN from the same port with a bare
 * ACK until it expires: for connections lwIP started (the client's).
 * IPERF3_CLOSE_PEER: the peer's FIN first, then ours, so that lwIP keeps
 * no TIME_WAIT; after AWAIT_POLLS seconds without it, as IPERF3_CLOSE_FIN
 * (a peer that waits for us). A peer that closed first already gets our
 * FIN at once. IPERF3_CLOSE_RST aborts PCB at once: neither end keeps a
 * TIME_WAIT (not from one of PCB's own callbacks).
 *
 * The lowest priority makes lwIP reclaim PCB first when it runs out of
 * pcbs. */
void iperf3_ctrl_close(struct tcp_pcb *pcb, enum iperf3_ctrl_close how)
{
    uintptr_t v = END_AWAIT;

    tcp_arg(pcb, NULL);
    tcp_err(pcb, NULL);
    if (how == IPERF3_CLOSE_RST) {
        tcp_abort(pcb);
        return;
    }
    if (how == IPERF3_CLOSE_FIN || pcb->state == CLOSE_WAIT)
        v = tcp_shutdown(pcb, 0, 1) == ERR_OK ? END_FIN : 0;
    tcp_setprio(pcb, TCP_PRIO_MIN);
    tcp_sent(pcb, NULL);
    tcp_recv(pcb, end_recv);
    tcp_poll(pcb, end_poll, 2);
    tcp_arg(pcb, (void *)v);
}

/* iperf3_ctrl_close(PCB, IPERF3_CLOSE_FIN). */
void iperf3_ctrl_linger(struct tcp_pcb *pcb)
{
    iperf3_ctrl_close(pcb, IPERF3_CLOSE_FIN);
}

/* Answer a connection we will not serve with one state byte MSG
 * (ACCESS_DENIED, or SERVER_ERROR followed by IERR and ERRNUM as
 * big-endian int32) and end it, letting the peer close first (a stock
 * client does once it has read MSG). Takes over PCB. */
void iperf3_ctrl_refuse(struct tcp_pcb *pcb, int msg, int ierr, int errnum)
{
    uint8_t b[IPERF3_MSG_MAX];
    u16_t n = (u16_t)iperf3_proto_msg_put(b, msg, ierr, errnum);

    if (tcp_sndbuf(pcb) >= n && tcp_write(pcb, b, n, TCP_WRITE_FLAG_COPY) == ERR_OK)
        tcp_output(pcb);
    iperf3_ctrl_close(pcb, IPERF3_CLOSE_PEER);
}

/* ---- control-connection buffers --------------------------------------------- */

/* Append LEN bytes, keeping the buffer at most MAX bytes.
 * 0, -EMSGSIZE or -ENOMEM (nothing appended then). */
static int buf_append(struct iperf3_ctrl_buf *b, const void *data, size_t len, size_t max)
{
    if (len > max || b->len > max - len)
        return -EMSGSIZE;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *nd;

        while (cap < b->len + len)
            cap *= 2;
        nd = realloc(b->data, cap);
        if (!nd)
            return -ENOMEM;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

/* Append the bytes of the pbuf chain P (not freed) from offset OFF on.
 * As buf_append. */
static int buf_append_pbuf(struct iperf3_ctrl_buf *b, const struct pbuf *p, size_t off, size_t max)
{
    size_t start = b->len;

    for (const struct pbuf *q = p; q; q = q->next) {
        int r;

        if (off >= q->len) {
            off -= q->len;
            continue;
        }
        r = buf_append(b, (const uint8_t *)q->payload + off, q->len - off, max);
        off = 0;
        if (r) {
            b->len = start;
            return r;
        }
    }
    return 0;
}

/* Drop the first N bytes (all of them when N >= len). */
static void buf_consume(struct iperf3_ctrl_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* Free the bytes; B is empty and reusable afterwards. */
static void buf_free(struct iperf3_ctrl_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- the connection --------------------------------------------------------- */

static err_t ctrl_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iperf3_ctrl *c = arg;
    int r;

    (void)err;
    if (!p) {
        c->ops->end(c->arg, IPERF3_CTRL_CLOSED, 0);
        return ERR_OK;
    }
    r = buf_append_pbuf(&c->in, p, 0, c->ops->in_max);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    c->last_input_ns = iperf3_priv_now_ns();
    if (r) {
        c->ops->end(c->arg, IPERF3_CTRL_OVERFLOW, r);
        return ERR_OK;
    }
    iperf3_ctrl_input(c);
    return ERR_OK;
}

static err_t ctrl_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb, (void)len;
    ctrl_flush(arg);
    return ERR_OK;
}

static void ctrl_err(void *arg, err_t err)
{
    struct iperf3_ctrl *c = arg;

    c->pcb = NULL; /* lwIP freed it */
    c->ops->end(c->arg, IPERF3_CTRL_FAILED, err);
}

static err_t ctrl_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct iperf3_ctrl *c = arg;

    if (err != ERR_OK) {
        c->pcb = NULL;
        tcp_abort(pcb);
        c->ops->end(c->arg, IPERF3_CTRL_NOT_CONNECTED, err);
        return ERR_ABRT;
    }
    tcp_recv(pcb, ctrl_recv);
    tcp_sent(pcb, ctrl_sent);
    c->ops->connected(c->arg);
    return ERR_OK;
}

/* Make the accepted connection PCB the control connection C, owned by ARG
 * with OPS (C is overwritten: it must not hold a connection). The bytes of
 * the pbuf chain P (not freed) from offset OFF on are its first input; they
 * are acted on by the next iperf3_ctrl_input(). */
void iperf3_ctrl_accept(struct iperf3_ctrl *c, struct tcp_pcb *pcb, const struct pbuf *p,
                        size_t off, const struct iperf3_ctrl_ops *ops, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->pcb = pcb;
    c->ops = ops;
    c->arg = arg;
    tcp_setprio(pcb, TCP_PRIO_MAX); /* never the one lwIP reclaims */
    tcp_nagle_disable(pcb);
    tcp_arg(pcb, c);
    tcp_recv(pcb, ctrl_recv);
    tcp_sent(pcb, ctrl_sent);
    tcp_err(pcb, ctrl_err);
    tcp_poll(pcb, NULL, 0);
    buf_append_pbuf(&c->in, p, off, IPERF3_RESULTS_MAX);
}

/* Start connecting C to ADDR:PORT for ARG with OPS (C is overwritten).
 * OPS->connected or OPS->end follows later. 0, or -ENOMEM (no pcb, or
 * lwIP refused to connect; OPS->end may have been called then). */
int iperf3_ctrl_connect(struct iperf3_ctrl *c, const ip_addr_t *addr, uint16_t port,
                        const struct iperf3_ctrl_ops *ops, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->arg = arg;
    c->pcb = tcp_new();
    if (!c->pcb)
        return -ENOMEM;
    tcp_setprio(c->pcb, TCP_PRIO_MAX);
    tcp_nagle_disable(c->pcb);
    tcp_arg(c->pcb, c);
    tcp_err(c->pcb, ctrl_err);
    if (tcp_connect(c->pcb, addr, port, ctrl_connected) != ERR_OK) {
        tcp_abort(c->pcb);
        c->pcb = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Act on everything complete in C's input, in order, until the input is
 * used up or the owner released C: JSON messages while OPS->expect says
 * so, SERVER_ERROR (when OPS->server_error is set) once all 9 bytes are
 * in, state bytes otherwise. */
void iperf3_ctrl_input(struct iperf3_ctrl *c)
{
    struct iperf3_ctrl_buf *in = &c->in;

    while (c->pcb && in->len > 0) {
        size_t max = c->ops->expect(c->arg), blen;

        if (max) {
            int r = iperf3_proto_frame_check(in->data, in->len, max, &blen);

            if (r == -EAGAIN)
                return;
            if (r < 0) {
                c->ops->json(c->arg, NULL, 0);
                return;
            }
            c->ops->json(c->arg, (const char *)in->data + 4, blen);
            buf_consume(in, 4 + blen); /* nothing left to drop if released */
            continue;
        }
        if (c->ops->server_error && (int8_t)in->data[0] == IPERF3_SERVER_ERROR) {
            if (in->len < IPERF3_MSG_MAX)
                return;
            c->ops->server_error(c->arg, (int)iperf3_proto_get_be32(in->data + 1),
                                 (int)iperf3_proto_get_be32(in->data + 5));
            return;
        }
        int8_t m = (int8_t)in->data[0];
        buf_consume(in, 1);
        c->ops->msg(c->arg, m);
    }
}

/* ---- output ------------------------------------------------------------------ */

/* Give lwIP as much of the queued output as its send buffer takes. */
static void ctrl_flush(struct iperf3_ctrl *c)
{
    size_t done = 0;

    if (!c->pcb)
        return;
    while (done < c->out.len) {
        size_t n = LWIP_MIN(c->out.len - done, (size_t)tcp_sndbuf(c->pcb));

        n = LWIP_MIN(n, 0xffffu);
        if (n == 0 ||
            tcp_write(c->pcb, c->out.data + done, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        done += n;
    }
    buf_consume(&c->out, done);
    tcp_output(c->pcb);
}

/* Is control output still waiting: refused by tcp_write, or queued in lwIP
 * but not sent (a full TX ring returns ERR_MEM, and lwIP's TCP would only
 * retry from its 250 ms timer)? If so, push it again. Returns true while
 * something waits, so the caller ticks fast. */
bool iperf3_ctrl_kick(struct iperf3_ctrl *c)
{
    if (!c->pcb)
        return false;
    if (c->out.len)
        ctrl_flush(c);
    else if (c->pcb->unsent)
        tcp_output(c->pcb);
    return c->out.len > 0 || c->pcb->unsent != NULL;
}

/* Queue LEN bytes for the peer and push what fits. 0, -EMSGSIZE, -ENOMEM. */
int iperf3_ctrl_send(struct iperf3_ctrl *c, const void *data, size_t len)
{
    int r = buf_append(&c->out, data, len, IPERF3_RESULTS_MAX + 16);

    if (r == 0)
        ctrl_flush(c);
    return r;
}

/* Queue one state byte MSG (enum iperf3_msg). As iperf3_ctrl_send. */
int iperf3_ctrl_send_msg(struct iperf3_ctrl *c, int msg)
{
    uint8_t b = (uint8_t)(int8_t)msg;

    return iperf3_ctrl_send(c, &b, 1);
}

/* Queue one JSON message: 4-byte big-endian length, then the text.
 * As iperf3_ctrl_send. */
int iperf3_ctrl_send_json(struct iperf3_ctrl *c, const char *json)
{
    size_t len = strlen(json);
    uint8_t hdr[4];
    int r;

    iperf3_proto_put_be32(hdr, (uint32_t)len);
    r = buf_append(&c->out, hdr, 4, IPERF3_RESULTS_MAX + 16);
    if (r == 0)
        r = buf_append(&c->out, json, len, IPERF3_RESULTS_MAX + 16);
    if (r == 0)
        ctrl_flush(c);
    return r;
}

/* Done with the control connection: push what still fits, end the pcb
 * (if it still exists) HOW (iperf3_ctrl_close), free the buffers. */
void iperf3_ctrl_release(struct iperf3_ctrl *c, enum iperf3_ctrl_close how)
{
    if (c->pcb) {
        ctrl_flush(c);
        iperf3_ctrl_close(c->pcb, how);
        c->pcb = NULL;
    }
    buf_free(&c->in);
    buf_free(&c->out);
}
