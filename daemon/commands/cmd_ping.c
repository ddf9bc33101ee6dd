/* SPDX-License-Identifier: MIT */
/* Control command "ping": lwIP pings a host; answered when the run ends. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "apps/lwping.h"
#include "daemon/args.h"
#include "daemon/commands_priv.h"
#include "daemon/stack.h"

struct ping_call {
    struct lwping_params p;
    struct commands_deferred *dd;
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
    commands_finish(arg, f, NULL);
}

static int ping_in_tcpip(void *arg)
{
    struct ping_call *pc = arg;

    return lwping_start(&pc->p, ping_done, pc->dd);
}

int cmd_ping(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(req, "host");
    struct ping_call pc;
    long count, interval, timeout;
    int r;

    (void)resp;
    if (!cJSON_IsString(host) || args_parse_ipv4(host->valuestring, &pc.p.addr) != 0) {
        snprintf(err, errlen, "ping: \"host\" must be an IPv4 address");
        return -EINVAL;
    }
    if (commands_int_field(req, "count", 1, 1000, 4, &count, err, errlen) ||
        commands_int_field(req, "interval_ms", 1, 10000, 200, &interval, err, errlen) ||
        commands_int_field(req, "timeout_ms", 10, 60000, 1000, &timeout, err, errlen))
        return -EINVAL;
    pc.p.count = (uint32_t)count;
    pc.p.interval_ms = (uint32_t)interval;
    pc.p.timeout_ms = (uint32_t)timeout;
    pc.dd = commands_defer(ctx);
    if (!pc.dd) {
        snprintf(err, errlen, "ping: cannot answer later on this connection");
        return -EINVAL;
    }
    r = stack_call(ping_in_tcpip, &pc, sizeof(pc), COMMANDS_STACK_TIMEOUT_MS);
    if (r == -ETIMEDOUT)
        return COMMANDS_DEFERRED; /* it may still start; its answer will come then */
    if (r != 0)
        commands_finish(pc.dd, NULL, r == -EBUSY ? "ping: another ping is running" : strerror(-r));
    return COMMANDS_DEFERRED;
}
