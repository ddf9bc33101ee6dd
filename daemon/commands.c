/* SPDX-License-Identifier: MIT */
/* Control commands. Each handler fills the response object and returns 0, or
 * returns -1 with a message; the response always carries "ok". */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "daemon/buildinfo.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/stack.h"
#include "daemon/stats.h"
#include "netif_tap/netif_tap.h"
#include "port/port.h"

#include "lwip/netif.h"
#include "lwip/ip4_addr.h"

#define STACK_TIMEOUT_MS 2000

typedef int (*command_fn)(struct daemon *d, const cJSON *req, cJSON *resp, char *err,
                          size_t errlen);

struct command {
    const char *name;
    const char *help;
    command_fn fn;
};

static const struct command *command_find(const char *name);

static int cmd_status(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    struct netif *n = netif_tap_netif(d->tap);
    const struct netif_tap_config *tc = netif_tap_config(d->tap);
    char ip[16], mask[16], mac[18];

    (void)req, (void)err, (void)errlen;
    /* Racy reads of the netif are fine: addresses are 32-bit words. */
    ip4addr_ntoa_r(netif_ip4_addr(n), ip, sizeof(ip));
    ip4addr_ntoa_r(netif_ip4_netmask(n), mask, sizeof(mask));
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", tc->mac[0], tc->mac[1], tc->mac[2],
             tc->mac[3], tc->mac[4], tc->mac[5]);
    cJSON_AddNumberToObject(resp, "pid", getpid());
    cJSON_AddStringToObject(resp, "tap", tc->ifname);
    cJSON_AddStringToObject(resp, "ip", ip);
    cJSON_AddStringToObject(resp, "netmask", mask);
    cJSON_AddStringToObject(resp, "mac", mac);
    cJSON_AddNumberToObject(resp, "mtu", netif_tap_mtu(d->tap));
    cJSON_AddStringToObject(resp, "link", netif_tap_link_is_up(d->tap) ? "up" : "down");
    cJSON_AddNumberToObject(resp, "uptime_s", (double)(port_now_ns() - d->start_ns) / 1e9);
    cJSON_AddStringToObject(resp, "tx_mode", tx_mode_name(tc->tx_mode));
    cJSON_AddStringToObject(resp, "txc_free", txc_free_name(tc->txc_free));
    cJSON_AddStringToObject(resp, "irq_policy", irq_policy_name(irq_policy()));
    cJSON_AddStringToObject(resp, "irq_target", tc->irq_target);
    cJSON_AddNumberToObject(resp, "heartbeat", (double)stack_heartbeat());
    cJSON_AddNumberToObject(resp, "control_clients", control_clients(d->control));
    if (d->capture)
        cJSON_AddStringToObject(resp, "capture", capture_path(d->capture));
    else
        cJSON_AddNullToObject(resp, "capture");
    cJSON_AddItemToObject(resp, "build", buildinfo_json());
    return 0;
}

static int cmd_stats(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    cJSON *s = stats_json(d);

    (void)req;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cJSON_AddItemToObject(resp, "stats", s);
    return 0;
}

static int cmd_link(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(req, "state");

    if (state) {
        int up, r;

        if (!cJSON_IsString(state) || ((up = strcmp(state->valuestring, "up") == 0) == 0 &&
                                       strcmp(state->valuestring, "down") != 0)) {
            snprintf(err, errlen, "link: \"state\" must be \"up\" or \"down\"");
            return -1;
        }
        r = stack_set_link(up, STACK_TIMEOUT_MS);
        if (r) {
            snprintf(err, errlen, "link: %s",
                     r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
            return -1;
        }
    }
    cJSON_AddStringToObject(resp, "link", netif_tap_link_is_up(d->tap) ? "up" : "down");
    return 0;
}

static int cmd_shutdown(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    (void)req, (void)resp, (void)err, (void)errlen;
    daemon_request_stop(d, 0);
    return 0;
}

static int cmd_version(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    (void)d, (void)req, (void)err, (void)errlen;
    cJSON_AddItemToObject(resp, "build", buildinfo_json());
    return 0;
}

static int cmd_help(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen);

static const struct command commands[] = {
    {"help", "list the commands", cmd_help},
    {"link", "link state; with \"state\":\"up\"|\"down\" plug or pull the cable", cmd_link},
    {"shutdown", "stop lwipd (exit 0)", cmd_shutdown},
    {"stats", "every counter: lwIP, driver, IRQs, apps, capture", cmd_stats},
    {"status", "addresses, link, modes, uptime, build", cmd_status},
    {"version", "lwipd and lwIP versions, heap, key lwIP options", cmd_version},
};

static int cmd_help(struct daemon *d, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();

    (void)d, (void)req, (void)err, (void)errlen;
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

/* The control handler: one request line in, one response line out. */
char *commands_handle(void *arg, const char *line, size_t len)
{
    struct daemon *d = arg;
    char err[256] = "";
    cJSON *req = commands_parse(line, len, err, sizeof(err));
    cJSON *resp = cJSON_CreateObject();
    const cJSON *id = req ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
    const struct command *c;
    char *out;
    int ok = 0;

    if (!resp) {
        cJSON_Delete(req);
        return NULL;
    }
    cJSON_AddBoolToObject(resp, "ok", 0);
    if (id)
        cJSON_AddItemToObject(resp, "id", cJSON_Duplicate(id, 1));
    if (req) {
        const char *name = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;

        c = command_find(name);
        if (!c)
            snprintf(err, sizeof(err), "unknown command '%.64s' (try \"help\")", name);
        else
            ok = c->fn(d, req, resp, err, sizeof(err)) == 0;
    }
    cJSON_ReplaceItemInObject(resp, "ok", cJSON_CreateBool(ok));
    if (!ok)
        cJSON_AddStringToObject(resp, "error", err[0] ? err : "failed");
    out = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    cJSON_Delete(req);
    return out;
}
