/* SPDX-License-Identifier: MIT */
/* Control commands. Each handler fills the response object and returns 0, or
 * returns -1 with a message; the response always carries "ok". */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/churn.h"
#include "apps/iperf3/iperf3.h"
#include "apps/lwping.h"
#include "apps/testhooks.h"
#include "capture/capture.h"
#include "base/events.h"
#include "fault_inject/fault.h"
#include "daemon/args.h"
#include "daemon/buildinfo.h"
#include "daemon/control.h"
#include "daemon/crash.h"
#include "daemon/daemon.h"
#include "daemon/stack.h"
#include "daemon/stats.h"
#include "diag/leaks.h"
#include "diag/sockdiag.h"
#include "netif_tap/netif_tap.h"
#include "crash/fatal.h"
#include "base/base.h"

#include "lwip/netif.h"
#include "lwip/ip4_addr.h"

#define STACK_TIMEOUT_MS 2000

/* What a command runs with. */
struct cmd_ctx {
    struct daemon *d;
    struct control_req *creq;
    const cJSON *id;
};

#define CMD_DEFERRED 1 /* the command answers later, through cmd_finish() */

typedef int (*command_fn)(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                          size_t errlen);

struct command {
    const char *name;
    const char *help;
    command_fn fn;
};

static const struct command *command_find(const char *name);
static const char *str_field(const cJSON *req, const char *name);
static int int_field(const cJSON *req, const char *name, long min, long max, long def, long *out,
                     char *err, size_t errlen);

struct link_query {
    struct netif *netif;
    bool up;
};

/* tcpip thread: lwIP's own view of the link (netif_is_link_up()). */
static int lwip_link_in_tcpip(void *arg)
{
    struct link_query *q = arg;

    q->up = netif_is_link_up(q->netif);
    return 0;
}

/* Add "lwip_link_up": lwIP's link flag, read in the tcpip thread (the
 * driver's own flag is "link"). null when lwIP cannot answer: the stack is
 * frozen after a fatal incident, or the tcpip thread did not run the query
 * within STACK_TIMEOUT_MS. */
static void add_lwip_link(struct cmd_ctx *ctx, cJSON *resp)
{
    struct link_query q = {netif_tap_netif(ctx->d->tap), false};

    if (!fatal_happened() && stack_call(lwip_link_in_tcpip, &q, sizeof(q), STACK_TIMEOUT_MS) == 0)
        cJSON_AddBoolToObject(resp, "lwip_link_up", q.up);
    else
        cJSON_AddNullToObject(resp, "lwip_link_up");
}

static int cmd_status(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    struct netif *n = netif_tap_netif(ctx->d->tap);
    const struct netif_tap_config *tc = netif_tap_config(ctx->d->tap);
    char ip[16], mask[16], mac[18];

    (void)req, (void)err, (void)errlen;
    /* Racy reads of the netif are fine: addresses are 32-bit words. */
    ip4addr_ntoa_r(netif_ip4_addr(n), ip, sizeof(ip));
    ip4addr_ntoa_r(netif_ip4_netmask(n), mask, sizeof(mask));
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", tc->mac[0], tc->mac[1], tc->mac[2],
             tc->mac[3], tc->mac[4], tc->mac[5]);
    cJSON_AddNumberToObject(resp, "pid", getpid());
    cJSON_AddStringToObject(resp, "state", fatal_happened() ? "faulted" : "running");
    if (crash_report_path())
        cJSON_AddStringToObject(resp, "crash_report", crash_report_path());
    else
        cJSON_AddNullToObject(resp, "crash_report");
    cJSON_AddStringToObject(resp, "tap", tc->ifname);
    cJSON_AddStringToObject(resp, "ip", ip);
    cJSON_AddStringToObject(resp, "netmask", mask);
    cJSON_AddStringToObject(resp, "mac", mac);
    cJSON_AddNumberToObject(resp, "mtu", netif_tap_mtu(ctx->d->tap));
    cJSON_AddStringToObject(resp, "link", netif_tap_link_is_up(ctx->d->tap) ? "up" : "down");
    add_lwip_link(ctx, resp);
    cJSON_AddNumberToObject(resp, "uptime_s", (double)(base_now_ns() - ctx->d->start_ns) / 1e9);
    cJSON_AddStringToObject(resp, "tx_mode", tx_mode_name(tc->tx_mode));
    cJSON_AddStringToObject(resp, "txc_free", txc_free_name(tc->txc_free));
    cJSON_AddStringToObject(resp, "irq_policy", irq_policy_name(irq_policy()));
    cJSON_AddStringToObject(resp, "irq_target", tc->irq_target);
    cJSON_AddNumberToObject(resp, "heartbeat", (double)stack_heartbeat());
    char seed[24];
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)ctx->d->seed);
    cJSON_AddStringToObject(resp, "seed", seed); /* a string: JSON numbers lose 64-bit precision */
    cJSON_AddNumberToObject(resp, "control_clients", control_clients(ctx->d->control));
    if (ctx->d->capture)
        cJSON_AddStringToObject(resp, "capture", capture_path(ctx->d->capture));
    else
        cJSON_AddNullToObject(resp, "capture");
    cJSON_AddItemToObject(resp, "build", buildinfo_json());
    return 0;
}

static int cmd_stats(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    cJSON *s = stats_json(ctx->d);

    (void)req;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cJSON_AddItemToObject(resp, "stats", s);
    return 0;
}

static int cmd_link(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(req, "state");

    if (state) {
        int up, r;

        if (!cJSON_IsString(state) || ((up = strcmp(state->valuestring, "up") == 0) == 0 &&
                                       strcmp(state->valuestring, "down") != 0)) {
            snprintf(err, errlen, "link: \"state\" must be \"up\" or \"down\"");
            return -1;
        }
        const char *when = str_field(req, "when");
        if (when && (up || strcmp(when, "tx-busy") != 0)) {
            snprintf(err, errlen, "link: \"when\":\"tx-busy\" is for pulling the cable only");
            return -1;
        }
        r = when ? stack_set_link_when_tx_busy(STACK_TIMEOUT_MS)
                 : stack_set_link(up, STACK_TIMEOUT_MS);
        if (r == -EAGAIN) {
            snprintf(err, errlen, "link: no frame was in flight within %d ms", STACK_TIMEOUT_MS);
            return -1;
        }
        if (r) {
            snprintf(err, errlen, "link: %s",
                     r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
            return -1;
        }
    }
    cJSON_AddStringToObject(resp, "link", netif_tap_link_is_up(ctx->d->tap) ? "up" : "down");
    return 0;
}

static const char *str_field(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int cmd_fault(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = str_field(req, "op");
    struct fault *f = ctx->d->fault;

    if (!op || strcmp(op, "list") == 0) {
        struct fault_stats fs;

        cJSON_AddItemToObject(resp, "rules", fault_rules_json(f));
        fault_get_stats(f, &fs);
        cJSON_AddNumberToObject(resp, "delayed_now", (double)fs.delayed_now);
        return 0;
    }
    if (strcmp(op, "add") == 0) {
        const char *rule = str_field(req, "rule");
        char why[256];
        int id;

        if (!rule) {
            snprintf(err, errlen, "fault add: needs \"rule\"");
            return -1;
        }
        id = fault_add(f, rule, why, sizeof(why));
        if (id < 0) {
            snprintf(err, errlen, "fault add: %s", why);
            return -1;
        }
        cJSON_AddNumberToObject(resp, "rule_id", id);
        return 0;
    }
    if (strcmp(op, "del") == 0) {
        long id;
        if (int_field(req, "rule_id", 1, 1000000000, 0, &id, err, errlen))
            return -1;
        if (id == 0 || fault_del(f, (unsigned)id) != 0) {
            snprintf(err, errlen, "fault del: no rule %ld", id);
            return -1;
        }
        return 0;
    }
    if (strcmp(op, "clear") == 0) {
        fault_clear(f);
        return 0;
    }
    snprintf(err, errlen, "fault: \"op\" must be add, list, del or clear");
    return -1;
}

static int cmd_capture(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = str_field(req, "op");
    struct capture *c = ctx->d->capture;
    char why[256];

    if (!op) {
        snprintf(err, errlen, "capture: \"op\" must be start, stop, rotate or mark");
        return -1;
    }
    if (strcmp(op, "start") == 0) {
        if (capture_start(c, str_field(req, "path"), why, sizeof(why)) != 0) {
            snprintf(err, errlen, "capture start: %s", why);
            return -1;
        }
        events_emit("capture", "\"op\":\"start\"");
    } else if (strcmp(op, "stop") == 0) {
        capture_stop(c);
        events_emit("capture", "\"op\":\"stop\"");
    } else if (strcmp(op, "rotate") == 0) {
        if (!capture_running(c)) {
            snprintf(err, errlen, "capture rotate: not capturing");
            return -1;
        }
        capture_rotate(c);
        events_emit("capture", "\"op\":\"rotate\"");
    } else if (strcmp(op, "mark") == 0) {
        const char *text = str_field(req, "text");
        cJSON *js = text ? cJSON_CreateString(text) : NULL;
        char *quoted = js ? cJSON_PrintUnformatted(js) : NULL;

        cJSON_Delete(js);
        if (!quoted || strlen(quoted) > EVENTS_TEXT_LEN - 16) {
            free(quoted);
            snprintf(err, errlen, "capture mark: needs a \"text\" of at most %d characters",
                     EVENTS_TEXT_LEN - 32);
            return -1;
        }
        uint64_t seq = events_emit("mark", "\"text\":%s", quoted);
        free(quoted);
        cJSON_AddNumberToObject(resp, "event", (double)seq);
    } else {
        snprintf(err, errlen, "capture: \"op\" must be start, stop, rotate or mark");
        return -1;
    }
    cJSON_AddBoolToObject(resp, "capturing", capture_running(c));
    cJSON_AddStringToObject(resp, "path", capture_path(c));
    return 0;
}

static int cmd_shutdown(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                        size_t errlen)
{
    (void)req, (void)resp, (void)err, (void)errlen;
    daemon_request_stop(ctx->d, 0);
    return 0;
}

static int cmd_version(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    (void)ctx, (void)req, (void)err, (void)errlen;
    cJSON_AddItemToObject(resp, "build", buildinfo_json());
    return 0;
}

/* Read an optional integer field NAME within [MIN, MAX] (default DEF). */
static int int_field(const cJSON *req, const char *name, long min, long max, long def, long *out,
                     char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        snprintf(err, errlen, "\"%s\" must be an integer from %ld to %ld", name, min, max);
        return -1;
    }
    *out = (long)v->valuedouble;
    return 0;
}

struct ping_call {
    struct lwping_params p;
    struct cmd_deferred *dd;
};

/* tcpip thread, at the end of the run. */
static void ping_done(void *arg, const struct lwping_result *res)
{
    cJSON *f = cJSON_CreateObject();
    cJSON *rtt = cJSON_CreateObject();

    cJSON_AddNumberToObject(f, "transmitted", res->transmitted);
    cJSON_AddNumberToObject(f, "received", res->received);
    cJSON_AddNumberToObject(f, "duplicates", res->duplicates);
    cJSON_AddNumberToObject(rtt, "min", res->rtt_min_ms);
    cJSON_AddNumberToObject(rtt, "avg", res->rtt_avg_ms);
    cJSON_AddNumberToObject(rtt, "max", res->rtt_max_ms);
    cJSON_AddItemToObject(f, "rtt_ms", rtt);
    cmd_finish(arg, f, NULL);
}

static int ping_in_tcpip(void *arg)
{
    struct ping_call *pc = arg;

    return lwping_start(&pc->p, ping_done, pc->dd);
}

static int cmd_ping(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(req, "host");
    struct ping_call pc;
    long count, interval, timeout;
    int r;

    (void)resp;
    if (!cJSON_IsString(host) || args_parse_ipv4(host->valuestring, &pc.p.addr) != 0) {
        snprintf(err, errlen, "ping: \"host\" must be an IPv4 address");
        return -1;
    }
    if (int_field(req, "count", 1, 1000, 4, &count, err, errlen) ||
        int_field(req, "interval_ms", 1, 10000, 200, &interval, err, errlen) ||
        int_field(req, "timeout_ms", 10, 60000, 1000, &timeout, err, errlen))
        return -1;
    pc.p.count = (uint32_t)count;
    pc.p.interval_ms = (uint32_t)interval;
    pc.p.timeout_ms = (uint32_t)timeout;
    pc.dd = cmd_defer(ctx);
    if (!pc.dd) {
        snprintf(err, errlen, "ping: cannot answer later on this connection");
        return -1;
    }
    r = stack_call(ping_in_tcpip, &pc, sizeof(pc), STACK_TIMEOUT_MS);
    if (r == -ETIMEDOUT)
        return CMD_DEFERRED; /* it may still start; its answer will come then */
    if (r != 0)
        cmd_finish(pc.dd, NULL, r == -EBUSY ? "ping: another ping is running" : strerror(-r));
    return CMD_DEFERRED;
}

/* ---- iperf3: lwIP's client against a host iperf3 server ---------------- */

struct iperf3_call {
    struct iperf3_client_opts o;
    struct cmd_deferred *dd;
};

/* tcpip thread, at the end of the run. */
static void iperf3_done(void *arg, cJSON *result, const char *error)
{
    char msg[300];

    if (error)
        snprintf(msg, sizeof(msg), "iperf3: %s", error);
    cmd_finish(arg, result, error ? msg : NULL);
}

static int iperf3_in_tcpip(void *arg)
{
    struct iperf3_call *ic = arg;

    return iperf3_client_start(&ic->o, iperf3_done, ic->dd);
}

/* Read an optional boolean field NAME (default false). */
static int bool_field(const cJSON *req, const char *name, bool *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = false;
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        snprintf(err, errlen, "\"%s\" must be true or false", name);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

static void sockets_fields(cJSON *o)
{
    cJSON_AddNumberToObject(o, "num_sockets", sockdiag_num_sockets());
    cJSON_AddNumberToObject(o, "offset", sockdiag_offset());
    cJSON_AddItemToObject(o, "table", sockdiag_table_json());
}

/* The sockdiag thread, when the probe is done. */
static void probe_done(void *arg, const struct sockdiag_probe *res, int err)
{
    cJSON *f, *p, *slots;

    if (err) {
        cmd_finish(arg, NULL, strerror(-err));
        return;
    }
    f = cJSON_CreateObject();
    sockets_fields(f);
    p = sockdiag_probe_json(res);
    /* The churn server's record of each stuck slot: how often it closed it
     * while its selector was inside lwip_select() on it. */
    slots = cJSON_GetObjectItemCaseSensitive(p, "stuck_slots");
    if (cJSON_GetArraySize(slots) == 0) {
        for (int k = 0; k < res->nstuck; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "fd", res->stuck[k]);
            cJSON_AddItemToArray(slots, e);
        }
    }
    for (cJSON *e = slots ? slots->child : NULL; e; e = e->next) {
        int fd = cJSON_GetObjectItemCaseSensitive(e, "fd")->valueint;
        cJSON_AddNumberToObject(e, "churn_closes_during_select",
                                (double)churn_slot_closes_during_select(fd));
    }
    cJSON_AddItemToObject(f, "probe", p);
    cmd_finish(arg, f, NULL);
}

static int cmd_sockets(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    struct cmd_deferred *dd;
    bool probe;
    int r;

    if (bool_field(req, "probe", &probe, err, errlen))
        return -1;
    if (!probe) {
        sockets_fields(resp);
        return 0;
    }
    dd = cmd_defer(ctx);
    if (!dd) {
        snprintf(err, errlen, "sockets: cannot answer later on this connection");
        return -1;
    }
    r = sockdiag_probe_async(probe_done, dd);
    if (r)
        cmd_finish(dd, NULL, r == -EBUSY ? "sockets: a probe is running" : strerror(-r));
    return CMD_DEFERRED;
}

static int cmd_leaks(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    struct leaks_snap *snap = leaks_snap_new();
    cJSON *rep;
    bool reset;
    int r;

    (void)ctx;
    if (!snap || bool_field(req, "reset", &reset, err, errlen)) {
        if (!snap)
            snprintf(err, errlen, "out of memory");
        leaks_snap_free(snap);
        return -1;
    }
    r = reset ? stack_call(leaks_baseline_in_tcpip, NULL, 0, STACK_TIMEOUT_MS) : 0;
    if (r == 0)
        r = stack_call(leaks_snapshot_in_tcpip, snap, leaks_snap_size(), STACK_TIMEOUT_MS);
    if (r) {
        snprintf(err, errlen, "leaks: %s",
                 r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
        leaks_snap_free(snap);
        return -1;
    }
    rep = leaks_report_json(snap);
    leaks_snap_free(snap);
    if (!rep) {
        snprintf(err, errlen, "leaks: no baseline (it is taken when lwipd is ready)");
        return -1;
    }
    while (rep->child) {
        cJSON *item = cJSON_DetachItemViaPointer(rep, rep->child);
        cJSON_AddItemToObject(resp, item->string, item);
    }
    cJSON_Delete(rep);
    return 0;
}

static int cmd_test_wrong_free(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                               size_t errlen)
{
    struct testhooks_wrong_free wf = {0};
    int r;

    (void)req;
    if (!ctx->d->args->test_hooks) {
        snprintf(err, errlen, "test hooks are off (start lwipd with --test-hooks)");
        return -1;
    }
    r = stack_call(testhooks_pbuf_wrong_free, &wf, sizeof(wf), STACK_TIMEOUT_MS);
    if (r) {
        snprintf(err, errlen, "test-wrong-free: %s", strerror(-r));
        return -1;
    }
    cJSON_AddNumberToObject(resp, "chain", wf.chain);
    cJSON_AddNumberToObject(resp, "freed", wf.freed);
    cJSON_AddNumberToObject(resp, "head_leaked", wf.head_leaked);
    return 0;
}

/* Block the tcpip thread for "ms" (the watchdog tests): answered as soon as
 * the stall has begun, or has ended if it is shorter than the wait. */
static int cmd_test_stall(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                          size_t errlen)
{
    struct testhooks_stall st;
    long ms;
    int r;

    if (!ctx->d->args->test_hooks) {
        snprintf(err, errlen, "test hooks are off (start lwipd with --test-hooks)");
        return -1;
    }
    if (int_field(req, "ms", 1, 600000, 1000, &ms, err, errlen))
        return -1;
    st.ms = (unsigned)ms;
    r = stack_call(testhooks_stall, &st, sizeof(st), 20);
    if (r != 0 && r != -ETIMEDOUT) {
        snprintf(err, errlen, "test-stall: %s", strerror(-r));
        return -1;
    }
    cJSON_AddNumberToObject(resp, "stall_ms", (double)ms);
    return 0;
}

/* Arm the driver's next TX-complete ISR to post the wrong way (a blocking
 * tcpip_callback()); the ISR checker's report follows the next frame out. */
static int cmd_test_isr_post(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                             size_t errlen)
{
    int r;

    (void)req, (void)resp;
    if (!ctx->d->args->test_hooks) {
        snprintf(err, errlen, "test hooks are off (start lwipd with --test-hooks)");
        return -1;
    }
    r = netif_tap_test_isr_post(ctx->d->tap);
    if (r) {
        snprintf(err, errlen, "test-isr-post: %s",
                 r == -ENOTSUP ? "needs --tx-mode ring" : strerror(-r));
        return -1;
    }
    return 0;
}

static int cmd_iperf3(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(req, "host");
    struct iperf3_call ic;
    struct iperf3_params *p = &ic.o.prm;
    long port, time, parallel, len, omit, bytes, blocks, bw, tos;
    bool has_time = cJSON_GetObjectItemCaseSensitive(req, "time") != NULL;
    bool has_bw = cJSON_GetObjectItemCaseSensitive(req, "bandwidth") != NULL;
    int r;

    (void)resp;
    memset(&ic, 0, sizeof(ic));
    iperf3_params_defaults(p);
    if (!cJSON_IsString(host) || args_parse_ipv4(host->valuestring, &ic.o.addr) != 0) {
        snprintf(err, errlen, "iperf3: \"host\" must be an IPv4 address");
        return -1;
    }
    if (int_field(req, "port", 1, 65535, IPERF3_PORT, &port, err, errlen) ||
        int_field(req, "time", 1, 3600, 10, &time, err, errlen) ||
        int_field(req, "parallel", 1, IPERF3_MAX_PARALLEL, 1, &parallel, err, errlen) ||
        int_field(req, "len", 0, IPERF3_TCP_MAX_LEN, 0, &len, err, errlen) ||
        int_field(req, "omit", 0, IPERF3_MAX_OMIT, 0, &omit, err, errlen) ||
        int_field(req, "bytes", 0, 1L << 40, 0, &bytes, err, errlen) ||
        int_field(req, "blocks", 0, 1L << 32, 0, &blocks, err, errlen) ||
        int_field(req, "bandwidth", 0, 1L << 40, 1048576, &bw, err, errlen) ||
        int_field(req, "tos", 0, 255, 0, &tos, err, errlen) ||
        bool_field(req, "reverse", &p->reverse, err, errlen) ||
        bool_field(req, "bidir", &p->bidir, err, errlen) ||
        bool_field(req, "udp", &p->udp, err, errlen) ||
        bool_field(req, "nodelay", &p->nodelay, err, errlen) ||
        bool_field(req, "get_server_output", &p->get_server_output, err, errlen) ||
        bool_field(req, "udp_counters_64bit", &p->udp_counters_64bit, err, errlen))
        return -1;
    if ((has_time ? 1 : 0) + (bytes ? 1 : 0) + (blocks ? 1 : 0) > 1) {
        snprintf(err, errlen, "iperf3: give one end condition: \"time\", \"bytes\" or \"blocks\"");
        return -1;
    }
    if (p->reverse && p->bidir) {
        snprintf(err, errlen, "iperf3: \"reverse\" and \"bidir\" are exclusive");
        return -1;
    }
    if (p->udp && len && (len < IPERF3_UDP_MIN_LEN || len > IPERF3_UDP_MAX_LEN)) {
        snprintf(err, errlen, "iperf3: UDP \"len\" must be from %d to %d", IPERF3_UDP_MIN_LEN,
                 IPERF3_UDP_MAX_LEN);
        return -1;
    }
    ic.o.port = (uint16_t)port;
    p->time = bytes || blocks ? 0 : (uint32_t)time;
    p->parallel = (uint32_t)parallel;
    p->len = (uint32_t)len; /* 0: the client picks iperf3's default */
    p->omit = (uint32_t)omit;
    p->num = (uint64_t)bytes;
    p->blockcount = (uint64_t)blocks;
    /* iperf3's defaults: UDP 1 Mbit/s, TCP unlimited; 0 means unlimited */
    p->bandwidth = has_bw ? (uint64_t)bw : p->udp ? 1048576 : 0;
    p->tos = (uint32_t)tos;
    ic.dd = cmd_defer(ctx);
    if (!ic.dd) {
        snprintf(err, errlen, "iperf3: cannot answer later on this connection");
        return -1;
    }
    r = stack_call(iperf3_in_tcpip, &ic, sizeof(ic), STACK_TIMEOUT_MS);
    if (r == -ETIMEDOUT)
        return CMD_DEFERRED; /* it may still start; its answer will come then */
    if (r != 0)
        cmd_finish(ic.dd, NULL,
                   r == -EBUSY ? "iperf3: another iperf3 client run is going on" : strerror(-r));
    return CMD_DEFERRED;
}

static int cmd_help(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen);

static const struct command commands[] = {
    {"capture", "\"op\": start [\"path\"], stop, rotate, mark \"text\"", cmd_capture},
    {"fault", "\"op\": add \"rule\", list, del \"rule_id\", clear", cmd_fault},
    {"help", "list the commands", cmd_help},
    {"iperf3",
     "lwIP's iperf3 client against \"host\" (\"port\", \"time\", \"reverse\", \"bidir\", "
     "\"parallel\", \"udp\", \"bandwidth\", \"len\", \"omit\", \"bytes\", \"blocks\", "
     "\"nodelay\", \"tos\", \"get_server_output\", \"udp_counters_64bit\")",
     cmd_iperf3},
    {"leaks", "lwIP pools and heap against the baseline taken at ready (\"reset\": take it again)",
     cmd_leaks},
    {"link", "link state; with \"state\":\"up\"|\"down\" plug or pull the cable", cmd_link},
    {"ping", "lwIP pings \"host\" (\"count\", \"interval_ms\", \"timeout_ms\")", cmd_ping},
    {"shutdown", "stop lwipd (exit 0)", cmd_shutdown},
    {"sockets", "lwIP's socket table; \"probe\":true finds stuck slots (run it when idle)",
     cmd_sockets},
    {"stats", "every counter: lwIP, driver, IRQs, apps, capture", cmd_stats},
    {"status", "addresses, link, modes, uptime, build", cmd_status},
    {"test-isr-post",
     "--test-hooks: the next TX-complete ISR posts with tcpip_callback() (may block)",
     cmd_test_isr_post},
    {"test-stall", "--test-hooks: block the tcpip thread for \"ms\" (1000), as a wedged stack",
     cmd_test_stall},
    {"test-wrong-free", "--test-hooks: free a pbuf chain from its 2nd element (leaks its head)",
     cmd_test_wrong_free},
    {"version", "lwipd and lwIP versions, heap, key lwIP options", cmd_version},
};

static int cmd_help(struct cmd_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();

    (void)ctx, (void)req, (void)err, (void)errlen;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        cJSON_AddStringToObject(o, commands[i].name, commands[i].help);
    cJSON_AddItemToObject(resp, "commands", o);
    return 0;
}

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* Parse one request line. Returns the object, or NULL with ERR set. */
cJSON *commands_parse(const char *line, size_t len, char *err, size_t errlen)
{
    cJSON *req;
    const cJSON *cmd;
    const char *end = NULL;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    req = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (req) {
        /* cJSON stops after the first value: anything but blanks after it
         * makes the line invalid. */
        for (; end < line + len; end++) {
            if (*end != ' ' && *end != '\t')
                break;
        }
        if (end < line + len) {
            cJSON_Delete(req);
            req = NULL;
        }
    }
    if (!req) {
        snprintf(err, errlen, "request is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(req)) {
        snprintf(err, errlen, "request must be a JSON object");
        goto bad;
    }
    cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
    if (!cJSON_IsString(cmd) || !cmd->valuestring[0]) {
        snprintf(err, errlen, "request needs a string \"cmd\"");
        goto bad;
    }
    return req;
bad:
    cJSON_Delete(req);
    return NULL;
}

/* A deferred command's handle: the promised reply and the request id. */
struct cmd_deferred {
    struct control_reply *reply;
    cJSON *id;
};

/* From a command: promise the answer for later. Returns NULL when the
 * request cannot be deferred (then answer at once with an error). */
struct cmd_deferred *cmd_defer(struct cmd_ctx *ctx)
{
    struct cmd_deferred *dd = calloc(1, sizeof(*dd));

    if (!dd)
        return NULL;
    dd->reply = control_defer(ctx->creq);
    if (!dd->reply) {
        free(dd);
        return NULL;
    }
    dd->id = ctx->id ? cJSON_Duplicate(ctx->id, 1) : NULL;
    return dd;
}

/* Complete a deferred command, from any thread: FIELDS (consumed, may be
 * NULL) go into the response; ERROR non-NULL makes it a failure. */
void cmd_finish(struct cmd_deferred *dd, cJSON *fields, const char *error)
{
    cJSON *resp = cJSON_CreateObject();
    char *out = NULL;

    if (resp) {
        cJSON_AddBoolToObject(resp, "ok", error == NULL);
        if (dd->id) {
            cJSON_AddItemToObject(resp, "id", dd->id);
            dd->id = NULL;
        }
        if (fields) {
            while (fields->child) {
                cJSON *item = cJSON_DetachItemViaPointer(fields, fields->child);
                cJSON_AddItemToObject(resp, item->string, item);
            }
        }
        if (error)
            cJSON_AddStringToObject(resp, "error", error);
        out = cJSON_PrintUnformatted(resp);
        cJSON_Delete(resp);
    }
    cJSON_Delete(fields);
    cJSON_Delete(dd->id);
    control_reply_send(dd->reply, out);
    free(dd);
}

/* The control handler: one request line in, one response line out (or none
 * yet, for a deferred command). */
char *commands_handle(void *arg, struct control_req *creq, const char *line, size_t len)
{
    struct cmd_ctx ctx = {.d = arg, .creq = creq};
    char err[256] = "";
    cJSON *req = commands_parse(line, len, err, sizeof(err));
    cJSON *resp = cJSON_CreateObject();
    const struct command *c;
    char *out;
    int ok = 0;

    if (!resp) {
        cJSON_Delete(req);
        return NULL;
    }
    ctx.id = req ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
    cJSON_AddBoolToObject(resp, "ok", 0);
    if (ctx.id)
        cJSON_AddItemToObject(resp, "id", cJSON_Duplicate(ctx.id, 1));
    if (req) {
        const char *name = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;

        c = command_find(name);
        if (!c) {
            snprintf(err, sizeof(err), "unknown command '%.64s' (try \"help\")", name);
        } else {
            int r = c->fn(&ctx, req, resp, err, sizeof(err));
            if (r == CMD_DEFERRED) {
                cJSON_Delete(resp);
                cJSON_Delete(req);
                return NULL;
            }
            ok = r == 0;
        }
    }
    cJSON_ReplaceItemInObject(resp, "ok", cJSON_CreateBool(ok));
    if (!ok)
        cJSON_AddStringToObject(resp, "error", err[0] ? err : "failed");
    out = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    cJSON_Delete(req);
    return out;
}
