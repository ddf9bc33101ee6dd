/* SPDX-License-Identifier: MIT */
/* iperf3 client inside lwIP, against a stock iperf3 server: one run at a
 * time, raw API under lwIP's core lock (see apps/iperf3_stream.c for why
 * and in which threads).
 *
 * It behaves like a 3.12 client on the wire: a base32 cookie, the
 * parameter JSON with 3.12's keys and types, data connections made one
 * after the other (TCP: connect, then the cookie; UDP: the "9876" connect
 * datagram from a socket of its own, then wait for "6789"), the end
 * condition (time, -n bytes, -k blocks) decided here, results sent before
 * the server's are read, and in reverse mode the data connections are
 * still read after TEST_END until the server closes them. The report has
 * the shape of iperf3 -J's "start.test_start" and "end" sums.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include "apps/iperf3_stream.h"
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
    struct iperf3_data data;
    bool have_data;
    unsigned expected;
    struct tcp_pcb *connecting;      /* TCP data connection being made */
    struct iperf3_dstream *awaiting; /* UDP stream waiting for its reply */
    uint64_t deadline_ns;
    uint64_t end_due_ns;
    uint64_t drain_until_ns; /* -n/-k sent: TEST_END once acknowledged */
    uint64_t budget;         /* -n/-k in bytes, 0: none */
    uint64_t last_activity_ns, last_bytes;
    struct iperf3_cpu_mark cpu0, cpu1;
    struct iperf3_results remote;
    bool tick_armed;
    bool running; /* read by the control thread */
    uint64_t runs, errors;
} cl;

static void cl_tick(void *arg);

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
    cl.deadline_ns = iperf3_now_ns() + PHASE_TIMEOUT_MS * MS;
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
    if (cl.have_data) {
        iperf3_data_release(&cl.data);
        cl.have_data = false;
    }
    iperf3_ctrl_release(&cl.ctrl);
    iperf3_results_free(&cl.remote);
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
static void fail(bool tell_server, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(bool tell_server, const char *fmt, ...)
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
    const struct iperf3_params *p = &cl.data.prm;

    return p->bidir ? index < p->parallel : !p->reverse;
}

static void end_test(void)
{
    iperf3_data_stop(&cl.data);
    iperf3_cpu_mark(&cl.cpu1);
    iperf3_ctrl_send_msg(&cl.ctrl, IPERF3_TEST_END);
    set_state(CL_ENDING);
}

/* Has everything the TCP senders wrote been acknowledged? */
static bool senders_drained(void)
{
    for (unsigned i = 0; i < cl.data.n; i++) {
        const struct tcp_pcb *pcb = cl.data.s[i].pcb;

        if (cl.data.s[i].sender && pcb && (pcb->unsent || pcb->unacked))
            return false;
    }
    return true;
}

/* -n/-k reached (called by the data streams). A sending client waits
 * until the server has acknowledged all of it (at most DRAIN_MS) before
 * TEST_END, so everything -n asked for has arrived rather than only what
 * left lwIP's send queue in time (a stock server still counts only what it
 * had read when it handles TEST_END); a receiving client ends at once. */
static void on_target(void *owner)
{
    (void)owner;
    if (cl.state != CL_RUNNING || cl.drain_until_ns)
        return;
    if (senders_drained()) {
        end_test();
        return;
    }
    cl.drain_until_ns = iperf3_now_ns() + DRAIN_MS * MS;
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
    struct iperf3_dstream *s = arg;

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
    iperf3_data_udp_input(s, p);
}

static void stream_conn_err(void *arg, err_t err)
{
    (void)arg;
    cl.connecting = NULL;
    fail(true, "data connection %u failed (%s)", cl.data.n + 1, iperf3_err_text(err));
}

static err_t stream_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    cl.connecting = NULL;
    if (err != ERR_OK) {
        fail(true, "data connection %u failed (%s)", cl.data.n + 1, iperf3_err_text(err));
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (tcp_write(pcb, cl.cookie, IPERF3_COOKIE_SIZE, TCP_WRITE_FLAG_COPY) != ERR_OK) {
        fail(true, "cannot send the cookie on data connection %u", cl.data.n + 1);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_output(pcb);
    iperf3_data_add_tcp(&cl.data, pcb, client_sends(cl.data.n));
    create_next();
    return ERR_OK;
}

/* Make the next data connection, or wait for TEST_START when all exist. */
static void create_next(void)
{
    unsigned idx = cl.data.n;

    if (idx == cl.expected) {
        set_state(CL_WAIT_START);
        return;
    }
    set_state(CL_CREATE);
    if (cl.data.prm.udp) {
        static const uint8_t hello[4] = {0x39, 0x38, 0x37, 0x36}; /* "9876" */
        struct udp_pcb *u = udp_new();
        struct iperf3_dstream *s;
        struct pbuf *p;

        if (!u || udp_bind(u, IP_ADDR_ANY, 0) != ERR_OK ||
            udp_connect(u, &cl.server, cl.o.port) != ERR_OK) {
            if (u)
                udp_remove(u);
            fail(true, "no UDP pcb for stream %u (MEMP_NUM_UDP_PCB)", idx + 1);
            return;
        }
        u->tos = (u8_t)cl.data.prm.tos;
        s = iperf3_data_add_udp(&cl.data, u, true, &cl.server, cl.o.port, client_sends(idx));
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

    if (iperf3_data_init(&cl.data, &cl.o.prm, n, on_target, NULL) != 0) {
        fail(true, "out of memory");
        return;
    }
    cl.have_data = true;
    cl.expected = n;
    create_next();
}

static void test_started(void)
{
    iperf3_cpu_mark(&cl.cpu0);
    iperf3_data_start(&cl.data);
    if (cl.budget) {
        bool sends = false;
        for (unsigned i = 0; i < cl.data.n; i++)
            sends |= cl.data.s[i].sender;
        if (sends)
            cl.data.send_left = cl.data.send_budget = cl.budget;
        else
            cl.data.rx_target = cl.budget;
    }
    cl.end_due_ns =
        cl.data.prm.time
            ? cl.data.start_ns + ((uint64_t)cl.data.prm.time + cl.data.prm.omit) * 1000 * MS
            : UINT64_MAX;
    cl.last_activity_ns = iperf3_now_ns();
    cl.last_bytes = 0;
    cl.drain_until_ns = 0;
    cl.state = CL_RUNNING;
    arm_tick(1);
}

static void send_results(void)
{
    struct iperf3_results r = {0};
    struct iperf3_stream_result *sr = calloc(cl.data.n ? cl.data.n : 1, sizeof(*sr));
    bool sends = false;
    char *json;

    if (!sr) {
        fail(true, "out of memory");
        return;
    }
    iperf3_cpu_util(&cl.cpu0, &cl.cpu1, &r.cpu_total, &r.cpu_user, &r.cpu_system);
    for (unsigned i = 0; i < cl.data.n; i++) {
        iperf3_data_result(&cl.data, i, &sr[i]);
        sends |= cl.data.s[i].sender;
    }
    r.sender_has_retransmits = sends ? 0 : -1;
    r.streams = sr;
    r.nstreams = cl.data.n;
    json = iperf3_results_format(&r);
    free(sr);
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
    cJSON *res = iperf3_report(&cl.data, &cl.remote, &cl.cpu0, &cl.cpu1);

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
            iperf3_data_start_sending(&cl.data);
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
    fail(true, "unexpected message %d while %s", m, state_names[cl.state]);
}

static void ctrl_process(void)
{
    struct iperf3_buf *in = &cl.ctrl.in;

    while (cl.state != CL_IDLE && in->len > 0) {
        if (cl.state == CL_RESULTS) {
            char err[160];
            size_t blen;
            int r = iperf3_frame_check(in->data, in->len, IPERF3_RESULTS_MAX, &blen);

            if (r == 0)
                return;
            if (r < 0) {
                fail(true, "the server's results have a bad length");
                return;
            }
            r = iperf3_results_parse((const char *)in->data + 4, blen, &cl.remote, err,
                                     sizeof(err));
            if (r) {
                fail(true, "the server's results: %s", err);
                return;
            }
            for (unsigned i = 0; i < cl.remote.nstreams; i++) {
                bool known = false;
                for (unsigned k = 0; k < cl.data.n; k++)
                    known |= cl.data.s[k].id == cl.remote.streams[i].id;
                if (!known) {
                    fail(true, "the server's results name stream %u, which does not exist",
                         cl.remote.streams[i].id);
                    return;
                }
            }
            iperf3_buf_consume(in, 4 + blen);
            set_state(CL_WAIT_DISPLAY);
            continue;
        }
        if ((int8_t)in->data[0] == IPERF3_SERVER_ERROR) {
            int ierr, e;

            if (in->len < 9)
                return;
            ierr = (int)iperf3_get_be32(in->data + 1);
            e = (int)iperf3_get_be32(in->data + 5);
            fail(false, "server error %d (%s)%s%s", ierr, iperf3_ierr_text(ierr), e ? ": " : "",
                 e ? strerror(e) : "");
            return;
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
        fail(false, "the server closed the control connection while %s", state_names[cl.state]);
        return ERR_OK;
    }
    r = iperf3_buf_append_pbuf(&cl.ctrl.in, p, 0, IPERF3_RESULTS_MAX + 16);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    if (r) {
        fail(true, "control input too large");
        return ERR_OK;
    }
    ctrl_process();
    return ERR_OK;
}

static err_t ctrl_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)arg, (void)pcb, (void)len;
    iperf3_ctrl_flush(&cl.ctrl);
    return ERR_OK;
}

static void ctrl_err(void *arg, err_t err)
{
    (void)arg;
    cl.ctrl.pcb = NULL;
    fail(false, "control connection: %s", iperf3_err_text(err));
}

static err_t ctrl_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK) {
        cl.ctrl.pcb = NULL;
        tcp_abort(pcb);
        fail(false, "cannot connect: %s", iperf3_err_text(err));
        return ERR_ABRT;
    }
    tcp_recv(pcb, ctrl_recv);
    tcp_sent(pcb, ctrl_sent);
    set_state(CL_PARAMS);
    iperf3_ctrl_send(&cl.ctrl, cl.cookie, IPERF3_COOKIE_SIZE);
    return ERR_OK;
}

/* ---- timer ---------------------------------------------------------------------------- */

static void cl_tick(void *arg)
{
    uint64_t now = iperf3_now_ns();
    unsigned next = 100;

    (void)arg;
    cl.tick_armed = false;
    if (cl.state == CL_RUNNING) {
        uint64_t rx, tx;

        next = iperf3_data_tick(&cl.data);
        if (now >= cl.end_due_ns ||
            (cl.drain_until_ns && (senders_drained() || now >= cl.drain_until_ns))) {
            end_test();
        } else if (cl.drain_until_ns) {
            next = 1;
        } else {
            if (cl.end_due_ns != UINT64_MAX)
                next = (unsigned)LWIP_MIN((uint64_t)next, (cl.end_due_ns - now) / MS + 1);
            iperf3_data_totals(&cl.data, &rx, &tx);
            if (rx + tx != cl.last_bytes) {
                cl.last_bytes = rx + tx;
                cl.last_activity_ns = now;
            } else if (now - cl.last_activity_ns > STALL_MS * MS) {
                fail(true, "no data moved for %d s", STALL_MS / 1000);
                return;
            }
        }
    } else if (now > cl.deadline_ns) {
        fail(true, "timed out %s", state_names[cl.state]);
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
    size_t got = 0;

    if (cl.state != CL_IDLE)
        return -EBUSY;
    if (o->prm.parallel == 0 || o->prm.parallel > IPERF3_MAX_PARALLEL ||
        (o->prm.reverse && o->prm.bidir))
        return -EINVAL;
    memset(&cl.ctrl, 0, sizeof(cl.ctrl));
    memset(&cl.remote, 0, sizeof(cl.remote));
    cl.o = *o;
    cl.o.port = o->port ? o->port : IPERF3_PORT;
    cl.done = done;
    cl.arg = arg;
    cl.budget = 0;
    ip_addr_set_ip4_u32(&cl.server, o->addr);
    while (got < sizeof(rnd)) {
        ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, GRND_NONBLOCK);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    for (; got < sizeof(rnd); got++)
        rnd[got] = (uint8_t)LWIP_RAND();
    iperf3_make_cookie(cl.cookie, rnd);
    cl.ctrl.pcb = tcp_new();
    if (!cl.ctrl.pcb)
        return -ENOMEM;
    tcp_setprio(cl.ctrl.pcb, TCP_PRIO_MAX);
    tcp_nagle_disable(cl.ctrl.pcb);
    tcp_arg(cl.ctrl.pcb, NULL);
    tcp_err(cl.ctrl.pcb, ctrl_err);
    if (tcp_connect(cl.ctrl.pcb, &cl.server, cl.o.port, ctrl_connected) != ERR_OK) {
        tcp_abort(cl.ctrl.pcb);
        cl.ctrl.pcb = NULL;
        return -ENOMEM;
    }
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
