/* SPDX-License-Identifier: MIT */
/* Control command "iperf3": lwIP's iperf3 client against a host iperf3 server;
 * answered when the run ends, with every interval in the answer's
 * "intervals" and, when the request asks ("intervals": true), also sent as
 * a progress line {"interval": {...}} as it completes. Progress is asked
 * for rather than always sent so that a script reading one answer line per
 * request keeps working. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "apps/iperf3/iperf3.h"
#include "daemon/args.h"
#include "daemon/commands_priv.h"
#include "daemon/stack.h"

struct iperf3_call {
    struct iperf3_client_opts o;
    struct commands_deferred *dd;
};

/* Under lwIP's core lock, as each interval completes: a progress line.
 * -1 (the client has gone) stops the calls; the run goes on to its end. */
static int iperf3_interval(void *arg, const cJSON *interval)
{
    cJSON *f = cJSON_CreateObject();

    if (!f)
        return 0;
    cJSON_AddItemToObject(f, "interval", cJSON_Duplicate(interval, 1));
    return commands_progress(arg, f);
}

/* "interval": seconds between reports, 0 (none) or iperf3's -i range;
 * default 1, as iperf3's. Into *MS; 0 or -EINVAL with ERR. */
static int interval_field(const cJSON *req, uint32_t *ms, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "interval");
    double s = IPERF3_INTERVAL_DEFAULT_S;

    if (v) {
        s = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (s != 0 && !(s >= IPERF3_INTERVAL_MIN_S && s <= IPERF3_INTERVAL_MAX_S)) {
            snprintf(err, errlen, "iperf3: \"interval\" must be 0 or from %g to %g seconds",
                     IPERF3_INTERVAL_MIN_S, IPERF3_INTERVAL_MAX_S);
            return -EINVAL;
        }
    }
    *ms = (uint32_t)(s * 1000 + 0.5);
    return 0;
}

/* tcpip thread, at the end of the run. */
static void iperf3_done(void *arg, cJSON *result, const char *error)
{
    char msg[300];

    if (error)
        snprintf(msg, sizeof(msg), "iperf3: %s", error);
    commands_finish(arg, result, error ? msg : NULL);
}

static int iperf3_in_tcpip(void *arg)
{
    struct iperf3_call *ic = arg;

    return iperf3_client_start(&ic->o, iperf3_done, ic->dd);
}

int cmd_iperf3(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(req, "host");
    struct iperf3_call ic;
    struct iperf3_params *p = &ic.o.prm;
    long port, time, parallel, len, omit, bytes, blocks, bw, tos;
    bool has_time = cJSON_GetObjectItemCaseSensitive(req, "time") != NULL;
    bool has_bw = cJSON_GetObjectItemCaseSensitive(req, "bandwidth") != NULL;
    bool progress = false;
    int r;

    (void)resp;
    memset(&ic, 0, sizeof(ic));
    iperf3_params_defaults(p);
    if (!cJSON_IsString(host) || args_parse_ipv4(host->valuestring, &ic.o.addr) != 0) {
        snprintf(err, errlen, "iperf3: \"host\" must be an IPv4 address");
        return -EINVAL;
    }
    if (commands_int_field(req, "port", 1, 65535, IPERF3_PORT, &port, err, errlen) ||
        commands_int_field(req, "time", 1, 3600, 10, &time, err, errlen) ||
        commands_int_field(req, "parallel", 1, IPERF3_MAX_PARALLEL, 1, &parallel, err, errlen) ||
        commands_int_field(req, "len", 0, IPERF3_TCP_MAX_LEN, 0, &len, err, errlen) ||
        commands_int_field(req, "omit", 0, IPERF3_MAX_OMIT, 0, &omit, err, errlen) ||
        commands_int_field(req, "bytes", 0, 1L << 40, 0, &bytes, err, errlen) ||
        commands_int_field(req, "blocks", 0, 1L << 32, 0, &blocks, err, errlen) ||
        commands_int_field(req, "bandwidth", 0, 1L << 40, 1048576, &bw, err, errlen) ||
        commands_int_field(req, "tos", 0, 255, 0, &tos, err, errlen) ||
        commands_bool_field(req, "reverse", &p->reverse, err, errlen) ||
        commands_bool_field(req, "bidir", &p->bidir, err, errlen) ||
        commands_bool_field(req, "udp", &p->udp, err, errlen) ||
        commands_bool_field(req, "nodelay", &p->nodelay, err, errlen) ||
        commands_bool_field(req, "get_server_output", &p->get_server_output, err, errlen) ||
        commands_bool_field(req, "udp_counters_64bit", &p->udp_counters_64bit, err, errlen) ||
        commands_bool_field(req, "intervals", &progress, err, errlen) ||
        interval_field(req, &ic.o.interval_ms, err, errlen))
        return -EINVAL;
    if ((has_time ? 1 : 0) + (bytes ? 1 : 0) + (blocks ? 1 : 0) > 1) {
        snprintf(err, errlen, "iperf3: give one end condition: \"time\", \"bytes\" or \"blocks\"");
        return -EINVAL;
    }
    if (p->reverse && p->bidir) {
        snprintf(err, errlen, "iperf3: \"reverse\" and \"bidir\" are exclusive");
        return -EINVAL;
    }
    if (p->udp && len && (len < IPERF3_UDP_MIN_LEN || len > IPERF3_UDP_MAX_LEN)) {
        snprintf(err, errlen, "iperf3: UDP \"len\" must be from %d to %d", IPERF3_UDP_MIN_LEN,
                 IPERF3_UDP_MAX_LEN);
        return -EINVAL;
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
    ic.o.interval_cb = progress ? iperf3_interval : NULL;
    ic.dd = commands_defer(ctx);
    if (!ic.dd) {
        snprintf(err, errlen, "iperf3: cannot answer later on this connection");
        return -EINVAL;
    }
    r = stack_call(iperf3_in_tcpip, &ic, sizeof(ic), COMMANDS_STACK_TIMEOUT_MS);
    if (r == -ETIMEDOUT)
        return COMMANDS_DEFERRED; /* it may still start; its answer will come then */
    if (r != 0)
        commands_finish(ic.dd, NULL,
                        r == -EBUSY ? "iperf3: another iperf3 client run is going on"
                                    : strerror(-r));
    return COMMANDS_DEFERRED;
}
