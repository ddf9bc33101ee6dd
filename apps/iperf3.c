/* SPDX-License-Identifier: MIT */
/* iperf3 server inside lwIP: one listener on TCP 5201 for control and data
 * connections, UDP 5201 bound while a UDP test runs, one test at a time.
 *
 * Raw API under lwIP's core lock, for speed: see apps/iperf3_stream.c.
 *
 * A new connection cannot be classified before its 37-byte cookie is in,
 * and it may come in pieces: until then it is "pending". Pending
 * connections are only kept while the server is idle (the first to
 * complete its cookie becomes the control connection) or while it waits
 * for data connections (a matching cookie makes a data stream; in both
 * cases anything else is refused with ACCESS_DENIED). In every other state
 * a new connection gets ACCESS_DENIED at once, without being read, as the
 * stock server does. A connection that stalls half-way through its cookie
 * therefore never blocks a real client; it is dropped after
 * COOKIE_TIMEOUT_MS.
 *
 * Every phase of a test has a deadline (parameters, stream set-up,
 * results), the running phase too (time + omit + 40 s, as the stock server,
 * and no traffic at all for STALL_MS); a test that misses one gets
 * SERVER_ERROR and the server is idle again. Malformed or oversize
 * parameters get SERVER_ERROR with the matching iperf3 error code.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include "apps/iperf3_stream.h"
#include "base/log.h"

#define COOKIE_TIMEOUT_MS 5000
#define PHASE_TIMEOUT_MS  10000
#define RUN_GRACE_S       40
#define STALL_MS          60000
#define MAX_PENDING       8
#define PCB_RESERVE       2 /* pcbs left for others: echo clients, the lwIP client */
#define NO_DEADLINE       UINT64_MAX
#define MS                1000000ull

enum srv_state {
    SRV_IDLE,
    SRV_PARAMS,
    SRV_CREATE_STREAMS,
    SRV_RUNNING,
    SRV_EXCHANGE,
    SRV_DISPLAY,
};

static const char *const state_names[] = {
    [SRV_IDLE] = "idle",
    [SRV_PARAMS] = "params",
    [SRV_CREATE_STREAMS] = "create_streams",
    [SRV_RUNNING] = "running",
    [SRV_EXCHANGE] = "exchange_results",
    [SRV_DISPLAY] = "display_results",
};

/* An accepted connection whose cookie is not complete yet. */
struct pending {
    struct tcp_pcb *pcb;
    uint8_t cookie[IPERF3_COOKIE_SIZE];
    uint8_t got;
    uint64_t deadline_ns;
    struct pending *next;
};

static struct {
    uint16_t port;
    struct tcp_pcb *listener;
    struct pending *pending;
    unsigned npending;
    enum srv_state state;
    struct iperf3_ctrl ctrl;
    uint8_t cookie[IPERF3_COOKIE_SIZE];
    char peer[48]; /* "addr port N", for logs and the server output */
    ip_addr_t peer_addr;
    struct iperf3_data data;
    bool have_data;
    unsigned expected; /* data connections of this test */
    struct udp_pcb *udp;
    uint64_t deadline_ns;
    uint64_t run_deadline_ns;
    uint64_t last_activity_ns;
    uint64_t last_bytes;
    struct iperf3_cpu_mark cpu0;
    char *results; /* our results JSON, made at TEST_END */
    bool tick_armed;
    struct iperf3_stats st;
} srv;

static void srv_tick(void *arg);
static void test_end(bool completed);
static void srv_udp_input(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                          u16_t port);

static void arm_tick(unsigned ms)
{
    if (srv.tick_armed)
        sys_untimeout(srv_tick, NULL);
    sys_timeout(ms ? ms : 1, srv_tick, NULL);
    srv.tick_armed = true;
}

static void set_state(enum srv_state s, unsigned timeout_ms)
{
    srv.state = s;
    srv.st.state = state_names[s];
    srv.deadline_ns = timeout_ms ? iperf3_now_ns() + timeout_ms * MS : NO_DEADLINE;
}

/* ---- ending a test ------------------------------------------------------------ */

static void data_drop(void)
{
    if (srv.have_data) {
        uint64_t rx, tx;

        iperf3_data_totals(&srv.data, &rx, &tx);
        srv.st.bytes_received += rx;
        srv.st.bytes_sent += tx;
        iperf3_data_release(&srv.data);
        srv.have_data = false;
    }
    if (srv.udp) {
        udp_remove(srv.udp);
        srv.udp = NULL;
    }
}

/* Back to idle: data connections and the control connection end
 * gracefully, everything of the test is freed. */
static void test_end(bool completed)
{
    data_drop();
    iperf3_ctrl_release(&srv.ctrl);
    free(srv.results);
    srv.results = NULL;
    if (completed)
        srv.st.tests_completed++;
    set_state(SRV_IDLE, 0);
    if (srv.tick_armed && !srv.pending) {
        sys_untimeout(srv_tick, NULL);
        srv.tick_armed = false;
    }
}

/* Tell the client why the test cannot go on (SERVER_ERROR, IERR, ERRNUM)
 * and end it. */
static void server_error(int ierr, int errnum, const char *why)
{
    uint8_t b[9];

    log_warn("iperf3", "test from %s: %s; SERVER_ERROR %d (%s)", srv.peer, why, ierr,
             iperf3_ierr_text(ierr));
    b[0] = (uint8_t)(int8_t)IPERF3_SERVER_ERROR;
    iperf3_put_be32(b + 1, (uint32_t)ierr);
    iperf3_put_be32(b + 5, (uint32_t)errnum);
    iperf3_ctrl_send(&srv.ctrl, b, sizeof(b));
    srv.st.errors++;
    test_end(false);
}

static void test_abort(const char *why)
{
    log_info("iperf3", "test from %s ended early: %s", srv.peer, why);
    srv.st.aborted++;
    test_end(false);
}

/* ---- the test's phases --------------------------------------------------------- */

/* Does this end send on the INDEX-th data connection? */
static bool server_sends(const struct iperf3_params *p, unsigned index)
{
    return p->reverse || (p->bidir && index >= p->parallel);
}

static void test_start(void)
{
    iperf3_cpu_mark(&srv.cpu0);
    iperf3_data_start(&srv.data);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_TEST_START);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_TEST_RUNNING);
    iperf3_data_start_sending(&srv.data);
    set_state(SRV_RUNNING, 0);
    srv.run_deadline_ns =
        srv.data.prm.time
            ? srv.data.start_ns +
                  ((uint64_t)srv.data.prm.time + srv.data.prm.omit + RUN_GRACE_S) * 1000 * MS
            : NO_DEADLINE;
    srv.last_activity_ns = iperf3_now_ns();
    srv.last_bytes = 0;
    arm_tick(1);
}

static void handle_params(const char *json, size_t len)
{
    struct iperf3_params p;
    char err[160];
    unsigned n;
    int r = iperf3_params_parse(json, len, &p, err, sizeof(err));

    if (r) {
        server_error(p.ierr, -r, err);
        return;
    }
    n = iperf3_params_streams(&p);
    if (!p.udp && n + 1 + PCB_RESERVE > MEMP_NUM_TCP_PCB) {
        snprintf(err, sizeof(err), "%u TCP streams requested, this lwIP has %d pcbs", n,
                 MEMP_NUM_TCP_PCB);
        server_error(IPERF3_IE_NUMSTREAMS, 0, err);
        return;
    }
    if (iperf3_data_init(&srv.data, &p, n, NULL, NULL) != 0) {
        server_error(IPERF3_IE_CREATESTREAM, ENOMEM, "out of memory");
        return;
    }
    srv.have_data = true;
    srv.expected = n;
    srv.st.tests_started++;
    if (p.udp) {
        srv.udp = udp_new();
        if (!srv.udp) {
            server_error(IPERF3_IE_STREAMLISTEN, ENOMEM, "no UDP pcb");
            return;
        }
        if (udp_bind(srv.udp, IP_ADDR_ANY, srv.port) != ERR_OK) {
            server_error(IPERF3_IE_STREAMLISTEN, EADDRINUSE, "UDP port in use");
            return;
        }
        srv.udp->tos = (u8_t)p.tos;
        udp_recv(srv.udp, srv_udp_input, NULL);
    }
    log_info("iperf3", "test from %s: %s%s%s, %u stream(s), %us%s", srv.peer, p.udp ? "UDP" : "TCP",
             p.reverse ? " reverse" : "", p.bidir ? " bidir" : "", p.parallel, p.time,
             p.time ? "" : " (-n/-k)");
    set_state(SRV_CREATE_STREAMS, PHASE_TIMEOUT_MS);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_CREATE_STREAMS);
}

static char *server_output(void)
{
    const struct iperf3_params *p = &srv.data.prm;
    size_t cap = 256 + 128 * (size_t)srv.data.n, len;
    char *s = malloc(cap);
    double secs = iperf3_data_seconds(&srv.data);

    if (!s)
        return NULL;
    len = (size_t)snprintf(s, cap, "lwipd iperf3 server, lwIP %d.%d.%d: %s%s%s test from %s\n",
                           LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION,
                           p->udp ? "UDP" : "TCP", p->reverse ? " reverse" : "",
                           p->bidir ? " bidir" : "", srv.peer);
    for (unsigned i = 0; i < srv.data.n && len < cap; i++) {
        struct iperf3_stream_result r;

        iperf3_data_result(&srv.data, i, &r);
        len += (size_t)snprintf(s + len, cap - len, "[%3u] 0.00-%.2f sec %llu bytes %.2f Mbit/s %s",
                                r.id, secs, (unsigned long long)r.bytes,
                                secs > 0 ? (double)r.bytes * 8 / secs / 1e6 : 0.0,
                                srv.data.s[i].sender ? "sender" : "receiver");
        if (len < cap && p->udp && !srv.data.s[i].sender)
            len += (size_t)snprintf(s + len, cap - len, ", %lld/%lld lost, jitter %.3f ms",
                                    (long long)r.errors, (long long)r.packets, r.jitter * 1e3);
        if (len < cap)
            len += (size_t)snprintf(s + len, cap - len, "\n");
    }
    return s;
}

/* TEST_END: final numbers, our results ready, data connections closed. */
static void handle_test_end(void)
{
    struct iperf3_cpu_mark cpu1;
    struct iperf3_results res = {0};
    struct iperf3_stream_result *sr;
    bool sends = false;

    iperf3_data_stop(&srv.data);
    iperf3_cpu_mark(&cpu1);
    iperf3_cpu_util(&srv.cpu0, &cpu1, &res.cpu_total, &res.cpu_user, &res.cpu_system);
    sr = calloc(srv.data.n ? srv.data.n : 1, sizeof(*sr));
    if (!sr) {
        server_error(IPERF3_IE_CREATESTREAM, ENOMEM, "out of memory");
        return;
    }
    for (unsigned i = 0; i < srv.data.n; i++) {
        iperf3_data_result(&srv.data, i, &sr[i]);
        sends |= srv.data.s[i].sender;
    }
    res.sender_has_retransmits = sends ? 0 : -1;
    res.streams = sr;
    res.nstreams = srv.data.n;
    if (srv.data.prm.get_server_output)
        res.server_output_text = server_output();
    srv.results = iperf3_results_format(&res);
    free(res.server_output_text);
    free(sr);
    if (!srv.results) {
        server_error(IPERF3_IE_CREATESTREAM, ENOMEM, "out of memory");
        return;
    }
    data_drop();
    set_state(SRV_EXCHANGE, PHASE_TIMEOUT_MS);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_EXCHANGE_RESULTS);
}

static void handle_client_results(const char *json, size_t len)
{
    struct iperf3_results cr;
    char err[160];
    int r = iperf3_results_parse(json, len, &cr, err, sizeof(err));

    if (r) {
        server_error(IPERF3_IE_RECVRESULTS, -r, err);
        return;
    }
    iperf3_results_free(&cr);
    iperf3_ctrl_send_json(&srv.ctrl, srv.results);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_DISPLAY_RESULTS);
    set_state(SRV_DISPLAY, PHASE_TIMEOUT_MS);
}

static void handle_msg(int8_t m)
{
    if (m == IPERF3_CLIENT_TERMINATE) {
        test_abort("the client terminated it");
    } else if (m == IPERF3_TEST_END && srv.state == SRV_RUNNING) {
        handle_test_end();
    } else if (m == IPERF3_IPERF_DONE && srv.state == SRV_DISPLAY) {
        log_info("iperf3", "test from %s done", srv.peer);
        test_end(true);
    } else {
        char why[64];
        snprintf(why, sizeof(why), "unexpected message %d in state %s", m, state_names[srv.state]);
        server_error(IPERF3_IE_MESSAGE, 0, why);
    }
}

/* Act on everything complete in the control input. */
static void ctrl_process(void)
{
    struct iperf3_buf *in = &srv.ctrl.in;

    while (srv.state != SRV_IDLE && in->len > 0) {
        size_t blen;
        int r;

        if (srv.state == SRV_PARAMS || srv.state == SRV_EXCHANGE) {
            bool params = srv.state == SRV_PARAMS;

            r = iperf3_frame_check(in->data, in->len,
                                   params ? IPERF3_PARAMS_MAX : IPERF3_RESULTS_MAX, &blen);
            if (r == 0)
                return;
            if (r < 0) {
                server_error(params ? IPERF3_IE_RECVPARAMS : IPERF3_IE_RECVRESULTS, EMSGSIZE,
                             "JSON length out of range");
                return;
            }
            if (params)
                handle_params((const char *)in->data + 4, blen);
            else
                handle_client_results((const char *)in->data + 4, blen);
            if (srv.state != SRV_IDLE)
                iperf3_buf_consume(in, 4 + blen);
            continue;
        }
        int8_t m = (int8_t)in->data[0];
        iperf3_buf_consume(in, 1);
        handle_msg(m);
    }
}

static err_t ctrl_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    int r;

    (void)arg, (void)err;
    if (!p) {
        if (srv.state == SRV_DISPLAY) {
            test_end(true);
        } else {
            test_abort("the client closed the control connection");
        }
        return ERR_OK;
    }
    r = iperf3_buf_append_pbuf(&srv.ctrl.in, p, 0, IPERF3_RESULTS_MAX + 8);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    srv.last_activity_ns = iperf3_now_ns();
    if (r) {
        server_error(IPERF3_IE_RECVPARAMS, -r, "control input too large");
        return ERR_OK;
    }
    ctrl_process();
    return ERR_OK;
}

static err_t ctrl_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)arg, (void)pcb, (void)len;
    iperf3_ctrl_flush(&srv.ctrl);
    return ERR_OK;
}

static void ctrl_err(void *arg, err_t err)
{
    (void)arg;
    srv.ctrl.pcb = NULL; /* lwIP freed it */
    test_abort(err == ERR_RST ? "control connection reset" : "control connection failed");
}

/* ---- UDP ------------------------------------------------------------------------ */

static void srv_udp_input(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                          u16_t port)
{
    struct iperf3_dstream *s;

    (void)arg, (void)pcb;
    if (!srv.have_data) {
        pbuf_free(p);
        return;
    }
    s = iperf3_data_find_udp(&srv.data, addr, port);
    if (s) {
        iperf3_data_udp_input(s, p);
        return;
    }
    /* A new stream: only during set-up, only from the control peer. Any
     * datagram counts as the connect message; the reply is "6789". */
    if (srv.state == SRV_CREATE_STREAMS && srv.data.n < srv.expected &&
        ip_addr_cmp(addr, &srv.peer_addr)) {
        static const uint8_t reply[4] = {0x36, 0x37, 0x38, 0x39};
        struct pbuf *r = pbuf_alloc(PBUF_TRANSPORT, sizeof(reply), PBUF_RAM);

        s = iperf3_data_add_udp(&srv.data, srv.udp, false, addr, port,
                                server_sends(&srv.data.prm, srv.data.n));
        if (r) {
            memcpy(r->payload, reply, sizeof(reply));
            udp_sendto(srv.udp, r, addr, port);
            pbuf_free(r);
        }
        if (s && srv.data.n == srv.expected)
            test_start();
    }
    pbuf_free(p);
}

/* ---- new connections ------------------------------------------------------------- */

static void pending_unlink(struct pending *pd)
{
    for (struct pending **pp = &srv.pending; *pp; pp = &(*pp)->next) {
        if (*pp == pd) {
            *pp = pd->next;
            srv.npending--;
            return;
        }
    }
}

static void refuse(struct tcp_pcb *pcb)
{
    srv.st.refused++;
    iperf3_refuse(pcb, IPERF3_ACCESS_DENIED, 0, 0);
}

/* The cookie of PCB is complete: control connection, data stream or
 * refusal. P (not freed) holds the bytes of this read, the first OFF of
 * them were cookie. */
static void classify(struct tcp_pcb *pcb, const uint8_t *cookie, struct pbuf *p, u16_t off)
{
    if (srv.state == SRV_IDLE) {
        char a[IPADDR_STRLEN_MAX];

        memset(&srv.ctrl, 0, sizeof(srv.ctrl));
        srv.ctrl.pcb = pcb;
        memcpy(srv.cookie, cookie, IPERF3_COOKIE_SIZE);
        ip_addr_copy(srv.peer_addr, pcb->remote_ip);
        ipaddr_ntoa_r(&pcb->remote_ip, a, sizeof(a));
        snprintf(srv.peer, sizeof(srv.peer), "%s port %u", a, pcb->remote_port);
        tcp_setprio(pcb, TCP_PRIO_MAX); /* never the one lwIP reclaims */
        tcp_nagle_disable(pcb);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, ctrl_recv);
        tcp_sent(pcb, ctrl_sent);
        tcp_err(pcb, ctrl_err);
        tcp_poll(pcb, NULL, 0);
        iperf3_buf_append_pbuf(&srv.ctrl.in, p, off, IPERF3_RESULTS_MAX);
        set_state(SRV_PARAMS, PHASE_TIMEOUT_MS);
        srv.last_activity_ns = iperf3_now_ns();
        iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_PARAM_EXCHANGE);
        ctrl_process();
        return;
    }
    if (srv.state == SRV_CREATE_STREAMS && !srv.data.prm.udp && srv.data.n < srv.expected &&
        memcmp(cookie, srv.cookie, IPERF3_COOKIE_SIZE) == 0) {
        iperf3_data_add_tcp(&srv.data, pcb, server_sends(&srv.data.prm, srv.data.n));
        if (srv.data.n == srv.expected)
            test_start();
        return;
    }
    refuse(pcb);
}

static err_t pending_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct pending *pd = arg;
    u16_t take;

    (void)err;
    if (!p) {
        pending_unlink(pd);
        free(pd);
        iperf3_linger(pcb);
        return ERR_OK;
    }
    take = (u16_t)LWIP_MIN((u16_t)(IPERF3_COOKIE_SIZE - pd->got), p->tot_len);
    pbuf_copy_partial(p, pd->cookie + pd->got, take, 0);
    pd->got = (uint8_t)(pd->got + take);
    tcp_recved(pcb, p->tot_len);
    if (pd->got == IPERF3_COOKIE_SIZE) {
        pending_unlink(pd);
        classify(pcb, pd->cookie, p, take);
        free(pd);
    }
    pbuf_free(p);
    return ERR_OK;
}

static void pending_err(void *arg, err_t err)
{
    struct pending *pd = arg;

    (void)err;
    pending_unlink(pd);
    free(pd);
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct pending *pd;

    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    if (srv.state != SRV_IDLE && srv.state != SRV_CREATE_STREAMS) {
        refuse(pcb); /* busy: answer without reading, as the stock server does */
        return ERR_OK;
    }
    pd = srv.npending < MAX_PENDING ? calloc(1, sizeof(*pd)) : NULL;
    if (!pd) {
        srv.st.refused++;
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    pd->pcb = pcb;
    pd->deadline_ns = iperf3_now_ns() + COOKIE_TIMEOUT_MS * MS;
    pd->next = srv.pending;
    srv.pending = pd;
    srv.npending++;
    tcp_arg(pcb, pd);
    tcp_recv(pcb, pending_recv);
    tcp_err(pcb, pending_err);
    if (!srv.tick_armed)
        arm_tick(100);
    return ERR_OK;
}

/* ---- timers ---------------------------------------------------------------------- */

static void pending_expire(uint64_t now)
{
    struct pending **pp = &srv.pending;

    while (*pp) {
        struct pending *pd = *pp;

        if (now < pd->deadline_ns) {
            pp = &pd->next;
            continue;
        }
        *pp = pd->next;
        srv.npending--;
        srv.st.timeouts++;
        log_info("iperf3", "dropping a connection that sent %u of %d cookie bytes in %d ms",
                 pd->got, IPERF3_COOKIE_SIZE, COOKIE_TIMEOUT_MS);
        iperf3_linger(pd->pcb);
        free(pd);
    }
}

static void phase_timeout(void)
{
    srv.st.timeouts++;
    switch (srv.state) {
    case SRV_PARAMS:
        server_error(IPERF3_IE_RECVPARAMS, ETIMEDOUT, "no parameters in time");
        break;
    case SRV_CREATE_STREAMS:
        server_error(IPERF3_IE_STREAMACCEPT, ETIMEDOUT, "data connections did not all arrive");
        break;
    case SRV_RUNNING:
        server_error(IPERF3_IE_NOMSG, ETIMEDOUT, "test overran or stalled");
        break;
    case SRV_EXCHANGE:
        server_error(IPERF3_IE_RECVRESULTS, ETIMEDOUT, "no results in time");
        break;
    default:
        test_end(true); /* results were delivered; IPERF_DONE never came */
        break;
    }
}

static void srv_tick(void *arg)
{
    uint64_t now = iperf3_now_ns();
    unsigned next = 100;

    (void)arg;
    srv.tick_armed = false;
    pending_expire(now);
    if (srv.state == SRV_RUNNING) {
        uint64_t rx, tx;

        next = iperf3_data_tick(&srv.data);
        iperf3_data_totals(&srv.data, &rx, &tx);
        if (rx + tx != srv.last_bytes) {
            srv.last_bytes = rx + tx;
            srv.last_activity_ns = now;
        }
        if (now > srv.run_deadline_ns || now - srv.last_activity_ns > STALL_MS * MS)
            phase_timeout();
    } else if (srv.state != SRV_IDLE && now > srv.deadline_ns) {
        phase_timeout();
    }
    /* Control output that lwIP could not send yet (ERR_MEM from a segment
     * pool or the TX ring, taken by the data connections) is pushed again
     * every millisecond rather than waiting for lwIP's 250 ms timer. */
    if (srv.state != SRV_IDLE && iperf3_ctrl_kick(&srv.ctrl))
        next = 1;
    if (srv.state != SRV_IDLE || srv.pending)
        arm_tick(next);
}

/* ---- start, stats ------------------------------------------------------------------ */

/* Listen on CFG's port (tcpip thread). 0, -ENOMEM or -EADDRINUSE. */
int iperf3_server_start(const struct iperf3_server_config *cfg)
{
    struct tcp_pcb *pcb;

    srv.port = cfg->port ? cfg->port : IPERF3_PORT;
    set_state(SRV_IDLE, 0);
    pcb = tcp_new();
    if (!pcb)
        return -ENOMEM;
    if (tcp_bind(pcb, IP_ADDR_ANY, srv.port) != ERR_OK) {
        tcp_close(pcb);
        return -EADDRINUSE;
    }
    srv.listener = tcp_listen(pcb);
    if (!srv.listener) {
        tcp_close(pcb);
        return -ENOMEM;
    }
    tcp_accept(srv.listener, srv_accept);
    srv.st.server_enabled = true;
    srv.st.port = srv.port;
    return 0;
}

/* A copy of the counters (any thread; racy by design, like all app stats). */
void iperf3_get_stats(struct iperf3_stats *out)
{
    *out = srv.st;
    out->pending = srv.npending;
    if (!out->state)
        out->state = "off";
    iperf3_client_stats(out);
}
