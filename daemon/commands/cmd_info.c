/* SPDX-License-Identifier: MIT */
/* Control commands "status" and "version": who and what this lwipd is. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "capture/capture.h"
#include "daemon/buildinfo.h"
#include "daemon/commands_priv.h"
#include "daemon/control.h"
#include "daemon/crash.h"
#include "daemon/daemon_priv.h"
#include "daemon/stack.h"
#include "netif_tap/netif_tap.h"
#include "crash/fatal.h"
#include "mcu/irq.h"
#include "base/base.h"

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

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
 * within COMMANDS_STACK_TIMEOUT_MS. */
static void add_lwip_link(struct commands_ctx *ctx, cJSON *resp)
{
    struct link_query q = {netif_tap_netif(ctx->d->tap), false};

    if (!fatal_happened() &&
        stack_call(lwip_link_in_tcpip, &q, sizeof(q), COMMANDS_STACK_TIMEOUT_MS) == 0)
        cJSON_AddBoolToObject(resp, "lwip_link_up", q.up);
    else
        cJSON_AddNullToObject(resp, "lwip_link_up");
}

int cmd_info_status(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                    size_t errlen)
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
    cJSON_AddStringToObject(resp, "report_dir", ctx->d->report_dir); /* lwipctl report */
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
    char bugs[96];
    driver_bug_format(tc->driver_bugs, bugs, sizeof(bugs));
    cJSON_AddStringToObject(resp, "driver_bug", bugs);
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

int cmd_info_version(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                     size_t errlen)
{
    (void)ctx, (void)req, (void)err, (void)errlen;
    cJSON_AddItemToObject(resp, "build", buildinfo_json());
    return 0;
}
