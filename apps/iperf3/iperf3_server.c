/* SPDX-License-Identifier: MIT */
/* iperf3 server inside lwIP: one listener on TCP 5201 for control and data
 * connections, UDP 5201 bound while a UDP test runs, one test at a time.
 *
 * Raw API under lwIP's core lock, for speed: see iperf3_stream.c. The
 * control connection's reading and writing is iperf3_ctrl.c's; this file is
 * the server's state machine over it.
 *
 * A new connection cannot be classified before its 37-byte cookie is in,
 * and it may come in pieces: until then it is "pending". Pending
 * connections are only kept while the server is idle (the first to
 * complete its cookie becomes the control connection; idle includes a test
 * that has exchanged its results and only waits for IPERF_DONE) or while it
 * waits for data connections (a matching cookie makes a data stream; in
 * both cases anything else is refused with ACCESS_DENIED). In every other
 * state a new connection gets ACCESS_DENIED at once, without being read, as
 * the stock server does. A connection that stalls half-way through its
 * cookie never blocks a real client: it is dropped after a timeout.
 *
 * The client closes first (iperf3_ctrl_close says why): the data
 * connections get FIN at TEST_END and RST once the client's results are
 * in; the control connection and refused ones wait for the client's FIN.
 *
 * Every phase of a test has a deadline (parameters, stream set-up,
 * results), the running phase too (time + omit + 40 s, as the stock server,
 * and no traffic at all for STALL_MS); a test that misses one gets
 * SERVER_ERROR and the server is idle again. Malformed or oversize
 * parameters get SERVER_ERROR with the matching iperf3 error code.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include "apps/iperf3/iperf3_stats.h"
#include "apps/iperf3/iperf3_cookie.h"
#include "apps/iperf3/iperf3_ctrl.h"
#include "apps/iperf3/iperf3_priv.h"
#include "apps/iperf3/iperf3_report.h"
#include "apps/iperf3/iperf3_stream.h"
#include "base/names.h"
#include "base/log.h"

#define PHASE_TIMEOUT_MS 10000
#define RUN_GRACE_S      40
#define STALL_MS         60000
#define PCB_RESERVE      2 /* pcbs left for others: echo clients, the lwIP client */
#define NO_DEADLINE      UINT64_MAX
#define MS               1000000ull

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

static struct {
    uint16_t port;
    struct tcp_pcb *listener;
    struct iperf3_cookie_list pending;
    enum srv_state state;
    struct iperf3_ctrl ctrl;
    uint8_t cookie[IPERF3_COOKIE_SIZE];
    char peer[48]; /* "addr port N", for logs and the server output */
    ip_addr_t peer_addr;
    struct iperf3_streams streams;
    bool have_streams;
    unsigned expected; /* data connections of this test */
    struct udp_pcb *udp;
    uint64_t deadline_ns;
    uint64_t run_deadline_ns;
    uint64_t last_activity_ns; /* last traffic; srv_tick folds in ctrl.last_input_ns */
    uint64_t last_bytes;
    struct iperf3_report_cpu cpu0;
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
    srv.st.state = names_get(state_names, NAMES_COUNT(state_names), s);
    srv.deadline_ns = timeout_ms ? iperf3_priv_now_ns() + timeout_ms * MS : NO_DEADLINE;
}

/* ---- ending a test ------------------------------------------------------------ */

/* End the test's data connections HOW and count their bytes. */
static void data_drop(enum iperf3_ctrl_close how)
{
    if (srv.have_streams) {
        uint64_t rx, tx;

        iperf3_stream_totals(&srv.streams, &rx, &tx);
        srv.st.bytes_received += rx;
        srv.st.bytes_sent += tx;
        iperf3_stream_release(&srv.streams, how);
        srv.have_streams = false;
    }
    if (srv.udp) {
        udp_remove(srv.udp);
        srv.udp = NULL;
    }
}

/* Back to idle: everything of the test is freed, and its connections end
 * in the background (iperf3_ctrl_close), the peer closing first. */
static void test_end(bool completed)
{
    data_drop(IPERF3_CLOSE_PEER);
    iperf3_ctrl_release(&srv.ctrl, IPERF3_CLOSE_PEER);
    free(srv.results);
    srv.results = NULL;
    if (completed)
        srv.st.tests_completed++;
    set_state(SRV_IDLE, 0);
    if (srv.tick_armed && !srv.pending.n) {
        sys_untimeout(srv_tick, NULL);
        srv.tick_armed = false;
    }
}

/* Tell the client why the test cannot go on (SERVER_ERROR, IERR, ERRNUM)
 * and end it. */
static void server_error(int ierr, int errnum, const char *why)
{
    uint8_t b[IPERF3_MSG_MAX];
    size_t n = iperf3_proto_msg_put(b, IPERF3_SERVER_ERROR, ierr, errnum);

    log_warn("iperf3", "test from %s: %s; SERVER_ERROR %d (%s)", srv.peer, why, ierr,
             iperf3_proto_ierr_text(ierr));
    iperf3_ctrl_send(&srv.ctrl, b, n);
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

static void test_start(void)
{
    iperf3_report_cpu_mark(&srv.cpu0);
    iperf3_stream_start(&srv.streams);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_TEST_START);
    iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_TEST_RUNNING);
    iperf3_stream_start_sending(&srv.streams);
    set_state(SRV_RUNNING, 0);
    srv.run_deadline_ns =
        srv.streams.prm.time
            ? srv.streams.start_ns +
                  ((uint64_t)srv.streams.prm.time + srv.streams.prm.omit + RUN_GRACE_S) * 1000 * MS
            : NO_DEADLINE;
    srv.last_activity_ns = iperf3_priv_now_ns();
    srv.last_bytes = 0;
    arm_tick(1);
}

static void handle_params(const char *json, size_t len)
{
    struct iperf3_params p;
    char err[160];
    unsigned n;
    int r = iperf3_params_parse(json, len, &p, err, sizeof(err));

    if (r == 0) /* lwipd's one link: the default netif */
        r = iperf3_params_check_udp_len(&p, netif_default ? netif_default->mtu : 1500, err,
                                        sizeof(err));
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
    if (iperf3_stream_init(&srv.streams, &p, n, NULL, NULL) != 0) {
        server_error(IPERF3_IE_CREATESTREAM, ENOMEM, "out of memory");
        return;
    }
    srv.have_streams = true;
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
    const struct iperf3_params *p = &srv.streams.prm;
    size_t cap = 256 + 128 * (size_t)srv.streams.n, len;
    char *s = malloc(cap);
    double secs = iperf3_stream_seconds(&srv.streams);

    if (!s)
        return NULL;
    len = (size_t)snprintf(s, cap, "lwipd iperf3 server, lwIP %d.%d.%d: %s%s%s test from %s\n",
                           LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION,
                           p->udp ? "UDP" : "TCP", p->reverse ? " reverse" : "",
                           p->bidir ? " bidir" : "", srv.peer);
    for (unsigned i = 0; i < srv.streams.n && len < cap; i++) {
        struct iperf3_results_stream r;

        iperf3_stream_result(&srv.streams, i, &r);
        len += (size_t)snprintf(s + len, cap - len, "[%3u] 0.00-%.2f sec %llu bytes %.2f Mbit/s %s",
                                r.id, secs, (unsigned long long)r.bytes,
                                secs > 0 ? (double)r.bytes * 8 / secs / 1e6 : 0.0,
                                srv.streams.s[i].sender ? "sender" : "receiver");
        if (len < cap && p->udp && !srv.streams.s[i].sender)
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
    struct iperf3_report_cpu cpu1;
    char *output = NULL;

    iperf3_stream_stop(&srv.streams);
    iperf3_report_cpu_mark(&cpu1);
    if (srv.streams.prm.get_server_output)
        output = server_output();
    srv.results = iperf3_report_results(&srv.streams, &srv.cpu0, &cpu1, output);
    free(output);
    if (!srv.results) {
        server_error(IPERF3_IE_CREATESTREAM, ENOMEM, "out of memory");
        return;
    }
    /* FIN on the data connections, as the stock server closes them here:
     * the client drains a reverse stream until it ends. */
    iperf3_stream_shutdown(&srv.streams);
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
    /* The client has left the data connections for good (a 3.12 client
     * reads them until it has sent its results): RST them, so that
     * neither end keeps a TIME_WAIT on their ports (--cport). */
    data_drop(IPERF3_CLOSE_RST);
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
        snprintf(why, sizeof(why), "unexpected message %d in state %s", m,
                 names_get(state_names, NAMES_COUNT(state_names), srv.state));
        server_error(IPERF3_IE_MESSAGE, 0, why);
    }
}

/* ---- the control connection (read and written by iperf3_ctrl.c) ---------------- */

static size_t ctrl_expect_cb(void *arg)
{
    (void)arg;
    if (srv.state == SRV_PARAMS)
        return IPERF3_PARAMS_MAX;
    return srv.state == SRV_EXCHANGE ? IPERF3_RESULTS_MAX : 0;
}

static void ctrl_json_cb(void *arg, const char *json, size_t len)
{
    bool params = srv.state == SRV_PARAMS;

    (void)arg;
    if (!json)
        server_error(params ? IPERF3_IE_RECVPARAMS : IPERF3_IE_RECVRESULTS, EMSGSIZE,
                     "JSON length out of range");
    else if (params)
        handle_params(json, len);
    else
        handle_client_results(json, len);
}

static void ctrl_msg_cb(void *arg, int msg)
{
    (void)arg;
    handle_msg((int8_t)msg);
}

static void ctrl_end_cb(void *arg, enum iperf3_ctrl_end why, int err)
{
    (void)arg;
    switch (why) {
    case IPERF3_CTRL_CLOSED:
        if (srv.state == SRV_DISPLAY)
            test_end(true);
        else
            test_abort("the client closed the control connection");
        break;
    case IPERF3_CTRL_OVERFLOW:
        server_error(IPERF3_IE_RECVPARAMS, -err, "control input too large");
        break;
    default:
        test_abort(err == ERR_RST ? "control connection reset" : "control connection failed");
        break;
    }
}

static const struct iperf3_ctrl_ops ctrl_ops = {
    .in_max = IPERF3_RESULTS_MAX + 8,
    .expect = ctrl_expect_cb,
    .msg = ctrl_msg_cb,
    .json = ctrl_json_cb,
    .end = ctrl_end_cb,
};

/* ---- UDP ------------------------------------------------------------------------ */

static void srv_udp_input(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                          u16_t port)
{
    struct iperf3_stream *s;

    (void)arg, (void)pcb;
    if (!srv.have_streams) {
        pbuf_free(p);
        return;
    }
    s = iperf3_stream_find_udp(&srv.streams, addr, port);
    if (s) {
        iperf3_stream_udp_input(s, p);
        return;
    }
    /* A new stream: only during set-up, only from the control peer. Any
     * datagram counts as the connect message; the reply is "6789". */
    if (srv.state == SRV_CREATE_STREAMS && srv.streams.n < srv.expected &&
        ip_addr_cmp(addr, &srv.peer_addr)) {
        static const uint8_t reply[4] = {0x36, 0x37, 0x38, 0x39};
        struct pbuf *r = pbuf_alloc(PBUF_TRANSPORT, sizeof(reply), PBUF_RAM);

        s = iperf3_stream_add_udp(&srv.streams, srv.udp, false, addr, port,
                                  iperf3_params_server_sends(&srv.streams.prm, srv.streams.n));
        if (r) {
            memcpy(r->payload, reply, sizeof(reply));
            udp_sendto(srv.udp, r, addr, port);
            pbuf_free(r);
        }
        if (s && srv.streams.n == srv.expected)
            test_start();
    }
    pbuf_free(p);
}

/* ---- new connections ------------------------------------------------------------- */

/* Has the test exchanged its results (ours all handed to lwIP), so that
 * only IPERF_DONE is missing? Then the next test may start. */
static bool results_delivered(void)
{
    return srv.state == SRV_DISPLAY && srv.ctrl.out.len == 0;
}

static void refuse(struct tcp_pcb *pcb)
{
    srv.st.refused++;
    iperf3_ctrl_refuse(pcb, IPERF3_ACCESS_DENIED, 0, 0);
}

/* The cookie of PCB is complete: control connection, data stream or
 * refusal. P (not freed) holds the bytes of this read, the first OFF of
 * them were cookie. */
static void classify_cb(void *arg, struct tcp_pcb *pcb, const uint8_t *cookie, struct pbuf *p,
                        u16_t off)
{
    (void)arg;
    if (results_delivered()) {
        /* IPERF_DONE may come late (a client gone, a retransmission):
         * the test is over for the client, and this is the next one. */
        log_info("iperf3", "test from %s done (the next one starts)", srv.peer);
        test_end(true);
    }
    if (srv.state == SRV_IDLE) {
        char a[IPADDR_STRLEN_MAX];

        memcpy(srv.cookie, cookie, IPERF3_COOKIE_SIZE);
        ip_addr_copy(srv.peer_addr, pcb->remote_ip);
        ipaddr_ntoa_r(&pcb->remote_ip, a, sizeof(a));
        snprintf(srv.peer, sizeof(srv.peer), "%s port %u", a, pcb->remote_port);
        iperf3_ctrl_accept(&srv.ctrl, pcb, p, off, &ctrl_ops, NULL);
        set_state(SRV_PARAMS, PHASE_TIMEOUT_MS);
        srv.last_activity_ns = iperf3_priv_now_ns();
        iperf3_ctrl_send_msg(&srv.ctrl, IPERF3_PARAM_EXCHANGE);
        iperf3_ctrl_input(&srv.ctrl);
        return;
    }
    if (srv.state == SRV_CREATE_STREAMS && !srv.streams.prm.udp && srv.streams.n < srv.expected &&
        memcmp(cookie, srv.cookie, IPERF3_COOKIE_SIZE) == 0) {
        iperf3_stream_add_tcp(&srv.streams, pcb,
                              iperf3_params_server_sends(&srv.streams.prm, srv.streams.n));
        if (srv.streams.n == srv.expected)
            test_start();
        return;
    }
    refuse(pcb);
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    if (srv.state != SRV_IDLE && srv.state != SRV_CREATE_STREAMS && !results_delivered()) {
        refuse(pcb); /* busy: answer without reading, as the stock server does */
        return ERR_OK;
    }
    if (iperf3_cookie_add(&srv.pending, pcb) != 0) {
        srv.st.refused++;
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (!srv.tick_armed)
        arm_tick(100);
    return ERR_OK;
}

/* ---- timers ---------------------------------------------------------------------- */

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
    uint64_t now = iperf3_priv_now_ns();
    unsigned next = 100;

    (void)arg;
    srv.tick_armed = false;
    srv.st.timeouts += iperf3_cookie_expire(&srv.pending, now);
    if (srv.state == SRV_RUNNING) {
        uint64_t rx, tx;

        next = iperf3_stream_tick(&srv.streams);
        iperf3_stream_totals(&srv.streams, &rx, &tx);
        if (rx + tx != srv.last_bytes) {
            srv.last_bytes = rx + tx;
            srv.last_activity_ns = now;
        }
        if (srv.ctrl.last_input_ns > srv.last_activity_ns)
            srv.last_activity_ns = srv.ctrl.last_input_ns;
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
    if (srv.state != SRV_IDLE || srv.pending.n)
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
    srv.pending.done = classify_cb;
    tcp_accept(srv.listener, srv_accept);
    srv.st.server_enabled = true;
    srv.st.port = srv.port;
    return 0;
}

/* The server's counters into OUT, all of it: the client's fields are zero
 * (iperf3_client_stats() fills them). Any thread; racy by design, like all
 * app stats. */
void iperf3_server_stats(struct iperf3_stats *out)
{
    *out = srv.st;
    out->pending = srv.pending.n;
    if (!out->state)
        out->state = "off";
}
