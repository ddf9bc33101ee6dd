/* SPDX-License-Identifier: MIT */
/* iperf3 client inside lwIP, against a stock iperf3 server: one run at a
 * time, raw API under lwIP's core lock (see iperf3_stream.c for why and
 * in which threads), its state machine over iperf3_ctrl.c's connection.
 *
 * It behaves like a 3.12 client on the wire: a base32 cookie, the
 * parameter JSON with 3.12's keys and types, data connections made one
 * after the other (TCP: connect, then the cookie; UDP: the "9876" connect
 * datagram from a socket of its own, then wait for "6789"), the end
 * condition (time, -n bytes, -k blocks) decided here, results sent before
 * the server's are read, and in reverse mode the data connections are
 * still read after TEST_END until the server closes them. The report has
 * the shape of iperf3 -J's "start.test_start", "intervals" and "end". */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include "apps/iperf3/iperf3_stats.h"
#include "apps/iperf3/iperf3_ctrl.h"
#include "apps/iperf3/iperf3_interval.h"
#include "apps/iperf3/iperf3_priv.h"
#include "apps/iperf3/iperf3_report.h"
#include "apps/iperf3/iperf3_stream.h"
#include "base/names.h"
#include "base/log.h"

#define PHASE_TIMEOUT_MS 10000
#define STALL_MS         30000
#define DRAIN_MS         2000
#define MS               1000000ull

enum cl_state {
    CL_IDLE,
    CL_CONNECT,      /* control connection being made */
    CL_PARAMS,       /* cookie sent, waiting for PARAM_EXCHANGE */
    CL_WAIT_CREATE,  /* parameters sent, waiting for CREATE_STREAMS */
    CL_CREATE,       /* making the data connections */
    CL_WAIT_START,   /* all made, waiting for TEST_START */
    CL_RUNNING,      /* until the end condition */
    CL_ENDING,       /* TEST_END sent, waiting for EXCHANGE_RESULTS */
    CL_RESULTS,      /* ours sent, reading the server's */
    CL_WAIT_DISPLAY, /* waiting for DISPLAY_RESULTS */
};

static const char *const state_names[] = {
    [CL_IDLE] = "idle",
    [CL_CONNECT] = "connecting",
    [CL_PARAMS] = "waiting for PARAM_EXCHANGE",
    [CL_WAIT_CREATE] = "waiting for CREATE_STREAMS",
    [CL_CREATE] = "connecting the data streams",
    [CL_WAIT_START] = "waiting for TEST_START",
    [CL_RUNNING] = "running",
    [CL_ENDING] = "waiting for EXCHANGE_RESULTS",
    [CL_RESULTS] = "reading the server's results",
    [CL_WAIT_DISPLAY] = "waiting for DISPLAY_RESULTS",
};

static struct {
    enum cl_state state;
    struct iperf3_client_opts o;
    ip_addr_t server;
    iperf3_client_done_cb done;
    void *arg;
    struct iperf3_ctrl ctrl;
    char cookie[IPERF3_COOKIE_SIZE];
    struct iperf3_streams streams;
    bool have_streams;
    unsigned expected;
    struct tcp_pcb *connecting;     /* TCP data connection being made */
    struct iperf3_stream *awaiting; /* UDP stream waiting for its reply */
    uint64_t deadline_ns;
    uint64_t end_due_ns;
    uint64_t drain_until_ns; /* -n/-k sent: TEST_END once acknowledged */
    uint64_t budget;         /* -n/-k in bytes, 0: none */
    uint64_t last_activity_ns, last_bytes;
    struct iperf3_report_cpu cpu0, cpu1;
    struct iperf3_results remote;
    struct iperf3_intervals iv; /* -i */
    bool tick_armed;
    bool running; /* read by the control thread */
    uint64_t runs, errors;
} cl;

static void cl_tick(void *arg);

static const char *state_name(void)
{
    return names_get(state_names, NAMES_COUNT(state_names), cl.state);
}

static void arm_tick(unsigned ms)
{
    if (cl.tick_armed)
        sys_untimeout(cl_tick, NULL);
    sys_timeout(ms ? ms : 1, cl_tick, NULL);
    cl.tick_armed = true;
}

static void set_state(enum cl_state s)
{
    cl.state = s;
    cl.deadline_ns = iperf3_priv_now_ns() + PHASE_TIMEOUT_MS * MS;
}

/* Free everything of the run; the callback is the caller's business. */
static void teardown(void)
{
    if (cl.connecting) {
        tcp_arg(cl.connecting, NULL);
        tcp_err(cl.connecting, NULL);
        tcp_abort(cl.connecting); /* a SYN in flight: nothing to be graceful about */
        cl.connecting = NULL;
    }
    if (cl.have_streams) {
        iperf3_stream_release(&cl.streams, IPERF3_CLOSE_FIN);
        cl.have_streams = false;
    }
    iperf3_ctrl_release(&cl.ctrl, IPERF3_CLOSE_FIN);
    iperf3_results_free(&cl.remote);
    iperf3_interval_release(&cl.iv);
    cl.awaiting = NULL;
    if (cl.tick_armed) {
        sys_untimeout(cl_tick, NULL);
        cl.tick_armed = false;
    }
    cl.state = CL_IDLE;
    cl.running = false;
}

/* End the run with an error. TELL_SERVER: send CLIENT_TERMINATE first, so
 * a server that is still in the test goes idle at once. */
static void __attribute__((format(printf, 2, 3))) fail(bool tell_server, const char *fmt, ...)
{
    iperf3_client_done_cb done = cl.done;
    void *arg = cl.arg;
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (tell_server && cl.ctrl.pcb)
        iperf3_ctrl_send_msg(&cl.ctrl, IPERF3_CLIENT_TERMINATE);
    log_warn("iperf3", "client: %s", msg);
    cl.errors++;
    teardown();
    done(arg, NULL, msg);
}

/* ---- phases ------------------------------------------------------------------------ */

static bool client_sends(unsigned index)
{
    const struct iperf3_params *p = &cl.streams.prm;

    return p->bidir ? index < p->parallel : !p->reverse;
}

static void end_test(void)
{
    iperf3_stream_stop(&cl.streams);
    iperf3_interval_finish(&cl.iv, &cl.streams);
    iperf3_report_cpu_mark(&cl.cpu1);
    iperf3_ctrl_send_msg(&cl.ctrl, IPERF3_TEST_END);
    set_state(CL_ENDING);
}

/* -n/-k reached (called by the data streams). A sending client waits
 * until the server has acknowledged all of it (at most DRAIN_MS) before
 * TEST_END, so everything -n asked for has arrived rather than only what
 * left lwIP's send queue in time (a stock server still counts only what it
 * had read when it handles TEST_END); a receiving client ends at once. */
static void on_target(void *arg)
{
    (void)arg;
    if (cl.state != CL_RUNNING || cl.drain_until_ns)
        return;
    if (iperf3_stream_drained(&cl.streams)) {
        end_test();
        return;
    }
    cl.drain_until_ns = iperf3_priv_now_ns() + DRAIN_MS * MS;
    arm_tick(1);
}

static void send_params(void)
{
    struct iperf3_params *p = &cl.o.prm;
    char *json;

    if (p->len == 0)
        p->len = p->udp ? (uint32_t)LWIP_MAX(tcp_mss(cl.ctrl.pcb), IPERF3_UDP_MIN_LEN)
                        : IPERF3_TCP_DEFAULT_LEN;
    if (p->num || p->blockcount) {
        uint64_t blocks = p->blockcount ? p->blockcount : (p->num + p->len - 1) / p->len;
        cl.budget = blocks * p->len;
    }
    json = iperf3_params_format(p);
    if (!json) {
        fail(true, "out of memory");
        return;
    }
    iperf3_ctrl_send_json(&cl.ctrl, json);
    cJSON_free(json);
    set_state(CL_WAIT_CREATE);
}

static void create_next(void);

static void udp_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    struct iperf3_stream *s = arg;

    (void)pcb, (void)addr, (void)port;
    if (cl.state == CL_CREATE && cl.awaiting == s) {
        uint8_t b[4];
        bool ok = p->tot_len == 4 && pbuf_copy_partial(p, b, 4, 0) == 4 &&
                  (memcmp(b, "6789", 4) == 0 || memcmp(b, "\xb1\x68\xde\x3a", 4) == 0);

        pbuf_free(p); /* anything else before the reply is ignored */
        if (ok) {
            cl.awaiting = NULL;
            create_next();
        }
        return;
    }
    iperf3_stream_udp_input(s, p);
}

static void stream_conn_err(void *arg, err_t err)
{
    (void)arg;
    cl.connecting = NULL;
    fail(true, "data connection %u failed (%s)", cl.streams.n + 1, iperf3_priv_err_text(err));
}

static err_t stream_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    cl.connecting = NULL;
    if (err != ERR_OK) {
        fail(true, "data connection %u failed (%s)", cl.streams.n + 1, iperf3_priv_err_text(err));
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (tcp_write(pcb, cl.cookie, IPERF3_COOKIE_SIZE, TCP_WRITE_FLAG_COPY) != ERR_OK) {
        fail(true, "cannot send the cookie on data connection %u", cl.streams.n + 1);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_output(pcb);
    iperf3_stream_add_tcp(&cl.streams, pcb, client_sends(cl.streams.n));
    create_next();
    return ERR_OK;
}

/* Make the next data connection, or wait for TEST_START when all exist. */
static void create_next(void)
{
    unsigned idx = cl.streams.n;

    if (idx == cl.expected) {
        set_state(CL_WAIT_START);
        return;
    }
    set_state(CL_CREATE);
    if (cl.streams.prm.udp) {
        static const uint8_t hello[4] = {0x39, 0x38, 0x37, 0x36}; /* "9876" */
        struct udp_pcb *u = udp_new();
        struct iperf3_stream *s;
        struct pbuf *p;

        if (!u || udp_bind(u, IP_ADDR_ANY, 0) != ERR_OK ||
            udp_connect(u, &cl.server, cl.o.port) != ERR_OK) {
            if (u)
                udp_remove(u);
            fail(true, "no UDP pcb for stream %u (MEMP_NUM_UDP_PCB)", idx + 1);
            return;
        }
        u->tos = (u8_t)cl.streams.prm.tos;
        s = iperf3_stream_add_udp(&cl.streams, u, true, &cl.server, cl.o.port, client_sends(idx));
        udp_recv(u, udp_recv_cb, s);
        cl.awaiting = s;
        p = pbuf_alloc(PBUF_TRANSPORT, sizeof(hello), PBUF_RAM);
        if (!p) {
            fail(true, "out of pbufs");
            return;
        }
        memcpy(p->payload, hello, sizeof(hello));
        udp_send(u, p);
        pbuf_free(p);
        return;
    }
    cl.connecting = tcp_new();
    if (!cl.connecting) {
        fail(true, "no TCP pcb for stream %u (MEMP_NUM_TCP_PCB)", idx + 1);
        return;
    }
    tcp_arg(cl.connecting, NULL);
    tcp_err(cl.connecting, stream_conn_err);
    if (tcp_connect(cl.connecting, &cl.server, cl.o.port, stream_connected) != ERR_OK) {
        tcp_abort(cl.connecting);
        cl.connecting = NULL;
        fail(true, "cannot connect data stream %u", idx + 1);
    }
}

static void start_streams(void)
{
    unsigned n = iperf3_params_streams(&cl.o.prm);

    if (iperf3_stream_init(&cl.streams, &cl.o.prm, n, on_target, NULL) != 0) {
        fail(true, "out of memory");
        return;
    }
    cl.have_streams = true;
    cl.expected = n;
    create_next();
}

static void test_started(void)
{
    iperf3_report_cpu_mark(&cl.cpu0);
    iperf3_stream_start(&cl.streams);
    if (cl.budget)
        iperf3_stream_set_budget(&cl.streams, cl.budget);
    cl.end_due_ns = cl.streams.prm.time
                        ? cl.streams.start_ns +
                              ((uint64_t)cl.streams.prm.time + cl.streams.prm.omit) * 1000 * MS
                        : UINT64_MAX;
    if (iperf3_interval_start(&cl.iv, &cl.streams, cl.o.interval_ms, cl.o.interval_cb, cl.arg)) {
        fail(true, "out of memory");
        return;
    }
    cl.last_activity_ns = iperf3_priv_now_ns();
    cl.last_bytes = 0;
    cl.drain_until_ns = 0;
    cl.state = CL_RUNNING;
    arm_tick(1);
}

static void send_results(void)
{
    char *json = iperf3_report_results(&cl.streams, &cl.cpu0, &cl.cpu1, NULL);

    if (!json) {
        fail(true, "out of memory");
        return;
    }
    iperf3_ctrl_send_json(&cl.ctrl, json);
    cJSON_free(json);
    set_state(CL_RESULTS);
}

static void finish(void)
{
    iperf3_client_done_cb done = cl.done;
    void *arg = cl.arg;
    cJSON *res = iperf3_report_json(&cl.streams, &cl.remote, &cl.cpu0, &cl.cpu1,
                                    iperf3_interval_take(&cl.iv));

    iperf3_ctrl_send_msg(&cl.ctrl, IPERF3_IPERF_DONE);
    log_info("iperf3", "client: test with the server done");
    teardown();
    done(arg, res, NULL);
}

/* ---- control connection ------------------------------------------------------------ */

static void handle_msg(int8_t m)
{
    switch (m) {
    case IPERF3_ACCESS_DENIED:
        fail(false, "the server is busy running a test (ACCESS_DENIED)");
        return;
    case IPERF3_SERVER_TERMINATE:
        fail(false, "the server terminated the test");
        return;
    case IPERF3_PARAM_EXCHANGE:
        if (cl.state == CL_PARAMS) {
            send_params();
            return;
        }
        break;
    case IPERF3_CREATE_STREAMS:
        if (cl.state == CL_WAIT_CREATE) {
            start_streams();
            return;
        }
        break;
    case IPERF3_TEST_START:
        if (cl.state == CL_WAIT_START) {
            test_started();
            return;
        }
        break;
    case IPERF3_TEST_RUNNING:
        if (cl.state == CL_RUNNING) {
            iperf3_stream_start_sending(&cl.streams);
            return;
        }
        break;
    case IPERF3_EXCHANGE_RESULTS:
        if (cl.state == CL_ENDING) {
            send_results();
            return;
        }
        break;
    case IPERF3_DISPLAY_RESULTS:
        if (cl.state == CL_WAIT_DISPLAY) {
            finish();
            return;
        }
        break;
    default:
        break;
    }
    fail(true, "unexpected message %d while %s", m, state_name());
}

static size_t ctrl_expect_cb(void *arg)
{
    (void)arg;
    return cl.state == CL_RESULTS ? IPERF3_RESULTS_MAX : 0;
}

/* The server's results (the one JSON message a client reads). */
static void ctrl_json_cb(void *arg, const char *json, size_t len)
{
    char err[160];
    int r;

    (void)arg;
    if (!json) {
        fail(true, "the server's results have a bad length");
        return;
    }
    r = iperf3_results_parse(json, len, &cl.remote, err, sizeof(err));
    if (r) {
        fail(true, "the server's results: %s", err);
        return;
    }
    for (unsigned i = 0; i < cl.remote.nstreams; i++) {
        if (!iperf3_stream_has_id(&cl.streams, cl.remote.streams[i].id)) {
            fail(true, "the server's results name stream %u, which does not exist",
                 cl.remote.streams[i].id);
            return;
        }
    }
    set_state(CL_WAIT_DISPLAY);
}

static void ctrl_msg_cb(void *arg, int msg)
{
    (void)arg;
    handle_msg((int8_t)msg);
}

static void ctrl_server_error_cb(void *arg, int ierr, int errnum)
{
    (void)arg;
    fail(false, "server error %d (%s)%s%s", ierr, iperf3_proto_ierr_text(ierr), errnum ? ": " : "",
         errnum ? strerror(errnum) : "");
}

static void ctrl_end_cb(void *arg, enum iperf3_ctrl_end why, int err)
{
    (void)arg;
    switch (why) {
    case IPERF3_CTRL_CLOSED:
        fail(false, "the server closed the control connection while %s", state_name());
        break;
    case IPERF3_CTRL_OVERFLOW:
        fail(true, "control input too large");
        break;
    case IPERF3_CTRL_NOT_CONNECTED:
        fail(false, "cannot connect: %s", iperf3_priv_err_text((err_t)err));
        break;
    default:
        fail(false, "control connection: %s", iperf3_priv_err_text((err_t)err));
        break;
    }
}

static void ctrl_connected_cb(void *arg)
{
    (void)arg;
    set_state(CL_PARAMS);
    iperf3_ctrl_send(&cl.ctrl, cl.cookie, IPERF3_COOKIE_SIZE);
}

static const struct iperf3_ctrl_ops ctrl_ops = {
    .in_max = IPERF3_RESULTS_MAX + 16,
    .expect = ctrl_expect_cb,
    .msg = ctrl_msg_cb,
    .json = ctrl_json_cb,
    .server_error = ctrl_server_error_cb,
    .end = ctrl_end_cb,
    .connected = ctrl_connected_cb,
};

/* ---- timer ---------------------------------------------------------------------------- */

static void cl_tick(void *arg)
{
    uint64_t now = iperf3_priv_now_ns();
    unsigned next = 100;

    (void)arg;
    cl.tick_armed = false;
    if (cl.state == CL_RUNNING) {
        uint64_t rx, tx;
        unsigned iv_next;

        next = iperf3_stream_tick(&cl.streams); /* first: it ends the omit period */
        iv_next = iperf3_interval_tick(&cl.iv, &cl.streams);
        next = LWIP_MIN(next, iv_next); /* (a macro: no calls in it) */
        if (now >= cl.end_due_ns || (cl.drain_until_ns && (iperf3_stream_drained(&cl.streams) ||
                                                           now >= cl.drain_until_ns))) {
            end_test();
        } else if (cl.drain_until_ns) {
            next = 1;
        } else {
            if (cl.end_due_ns != UINT64_MAX)
                next = (unsigned)LWIP_MIN((uint64_t)next, (cl.end_due_ns - now) / MS + 1);
            iperf3_stream_totals(&cl.streams, &rx, &tx);
            if (rx + tx != cl.last_bytes) {
                cl.last_bytes = rx + tx;
                cl.last_activity_ns = now;
            } else if (now - cl.last_activity_ns > STALL_MS * MS) {
                fail(true, "no data moved for %d s", STALL_MS / 1000);
                return;
            }
        }
    } else if (now > cl.deadline_ns) {
        fail(true, "timed out %s", state_name());
        return;
    }
    /* control output lwIP could not send yet (see the server) */
    if (iperf3_ctrl_kick(&cl.ctrl))
        next = 1;
    arm_tick(next);
}

/* ---- start ----------------------------------------------------------------------------- */

/* Start a client run (tcpip thread). DONE is called once, under lwIP's
 * core lock, at the end (not before this returns 0): in the tcpip thread,
 * or in the driver's RX thread when a received segment ends the run.
 * Returns 0, -EBUSY (a run is going on), -EINVAL (bad parameters) or
 * -ENOMEM; DONE is not called then. */
int iperf3_client_start(const struct iperf3_client_opts *o, iperf3_client_done_cb done, void *arg)
{
    uint8_t rnd[36];
    int r;

    if (cl.state != CL_IDLE)
        return -EBUSY;
    if (o->prm.parallel == 0 || o->prm.parallel > IPERF3_MAX_PARALLEL ||
        (o->prm.reverse && o->prm.bidir))
        return -EINVAL;
    memset(&cl.remote, 0, sizeof(cl.remote));
    cl.o = *o;
    cl.o.port = o->port ? o->port : IPERF3_PORT;
    cl.done = done;
    cl.arg = arg;
    cl.budget = 0;
    ip_addr_set_ip4_u32(&cl.server, o->addr);
    iperf3_priv_random(rnd, sizeof(rnd));
    iperf3_proto_make_cookie(cl.cookie, rnd);
    r = iperf3_ctrl_connect(&cl.ctrl, &cl.server, cl.o.port, &ctrl_ops, NULL);
    if (r)
        return r;
    cl.runs++;
    cl.running = true;
    set_state(CL_CONNECT);
    arm_tick(100);
    return 0;
}

/* The client's counters into OUT (any thread, racy). */
void iperf3_client_stats(struct iperf3_stats *out)
{
    out->client_running = cl.running;
    out->client_runs = cl.runs;
    out->client_errors = cl.errors;
}
