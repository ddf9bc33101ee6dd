/* SPDX-License-Identifier: MIT */
/* Control command "igmp": make lwIP join or leave a multicast group on the
 * TAP netif, or list the groups lwIP holds there. The calls run in the
 * tcpip thread (under the core lock), through stack_call(). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/igmp.h"
#include "lwip/ip4_addr.h"
#include "lwip/prot/ip4.h" /* ip4_addr_p_t: 2.0.x's prot/igmp.h lacks it */
#include "lwip/prot/igmp.h"

#include "daemon/args.h"
#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"
#include "daemon/stack.h"
#include "netif_tap/netif_tap.h"

#if LWIP_IGMP

/* How many groups "list" reports (lwIP's MEMP_NUM_IGMP_GROUP bounds them). */
#define IGMP_LIST_MAX 32

enum igmp_op { IGMP_OP_JOIN, IGMP_OP_LEAVE, IGMP_OP_LIST };

struct igmp_group_info {
    uint32_t addr; /* network byte order */
    uint8_t state;
    uint8_t use;
    uint8_t last_reporter;
};

struct igmp_call {
    struct netif_tap *tap;
    enum igmp_op op;
    uint32_t group; /* network byte order */
    int lwip_err;   /* err_t of the join or leave */
    unsigned n;     /* list: groups found (may exceed IGMP_LIST_MAX) */
    struct igmp_group_info groups[IGMP_LIST_MAX];
};

static const char *igmp_state_name(uint8_t s)
{
    switch (s) {
    case IGMP_GROUP_NON_MEMBER:
        return "non-member";
    case IGMP_GROUP_DELAYING_MEMBER:
        return "delaying-member";
    case IGMP_GROUP_IDLE_MEMBER:
        return "idle-member";
    }
    return "unknown";
}

/* tcpip thread: join, leave or walk the netif's group list. 0, -ENOENT
 * (leave: not a member), -EIO (lwIP refused: lwip_err says why). */
static int igmp_in_tcpip(void *arg)
{
    struct igmp_call *c = arg;
    struct netif *netif = netif_tap_netif(c->tap);
    ip4_addr_t g;
    err_t e;

    ip4_addr_set_u32(&g, c->group);
    if (c->op == IGMP_OP_LIST) {
        c->n = 0;
        for (struct igmp_group *p = netif_igmp_data(netif); p; p = p->next, c->n++) {
            if (c->n >= IGMP_LIST_MAX)
                continue;
            c->groups[c->n].addr = ip4_addr_get_u32(&p->group_address);
            c->groups[c->n].state = p->group_state;
            c->groups[c->n].use = p->use;
            c->groups[c->n].last_reporter = p->last_reporter_flag;
        }
        return 0;
    }
    if (c->op == IGMP_OP_LEAVE && !igmp_lookfor_group(netif, &g))
        return -ENOENT;
    e = c->op == IGMP_OP_JOIN ? igmp_joingroup_netif(netif, &g) : igmp_leavegroup_netif(netif, &g);
    c->lwip_err = e;
    return e == ERR_OK ? 0 : -EIO;
}

static void igmp_add_list(cJSON *resp, const struct igmp_call *c)
{
    cJSON *arr = cJSON_CreateArray();
    char buf[INET_ADDRSTRLEN];

    for (unsigned i = 0; i < c->n && i < IGMP_LIST_MAX; i++) {
        cJSON *o = cJSON_CreateObject();
        struct in_addr in = {.s_addr = c->groups[i].addr};

        cJSON_AddStringToObject(o, "group", inet_ntop(AF_INET, &in, buf, sizeof(buf)));
        cJSON_AddStringToObject(o, "state", igmp_state_name(c->groups[i].state));
        cJSON_AddNumberToObject(o, "use", c->groups[i].use);
        cJSON_AddBoolToObject(o, "last_reporter", c->groups[i].last_reporter);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddItemToObject(resp, "groups", arr);
    if (c->n > IGMP_LIST_MAX)
        cJSON_AddNumberToObject(resp, "groups_not_shown", c->n - IGMP_LIST_MAX);
}

int cmd_igmp(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = commands_str_field(req, "op");
    const char *group = commands_str_field(req, "group");
    struct igmp_call c = {.tap = ctx->d->tap, .op = IGMP_OP_LIST};
    int r;

    if (op && strcmp(op, "join") == 0) {
        c.op = IGMP_OP_JOIN;
    } else if (op && strcmp(op, "leave") == 0) {
        c.op = IGMP_OP_LEAVE;
    } else if (op && strcmp(op, "list") != 0) {
        snprintf(err, errlen, "igmp: \"op\" must be join, leave or list");
        return -EINVAL;
    }
    if (c.op != IGMP_OP_LIST) {
        if (!group) {
            snprintf(err, errlen, "igmp %s: needs \"group\"", op);
            return -EINVAL;
        }
        if (args_parse_ipv4(group, &c.group) != 0 || !IN_MULTICAST(ntohl(c.group))) {
            snprintf(err, errlen, "igmp %s: '%.64s' is not an IPv4 multicast address", op, group);
            return -EINVAL;
        }
        if (ntohl(c.group) == INADDR_ALLHOSTS_GROUP) {
            snprintf(err, errlen, "igmp %s: lwIP is always in 224.0.0.1 (all systems)", op);
            return -EINVAL;
        }
    }
    r = stack_call(igmp_in_tcpip, &c, sizeof(c), COMMANDS_STACK_TIMEOUT_MS);
    if (r == -ENOENT) {
        snprintf(err, errlen, "igmp leave: lwIP is not in group %.64s", group);
        return r;
    }
    if (r == -EIO) {
        snprintf(err, errlen, "igmp %s %.64s: lwIP answered %s (err_t %d)", op, group,
                 c.lwip_err == ERR_MEM ? "out of memory (MEMP_NUM_IGMP_GROUP)" : "an error",
                 c.lwip_err);
        return r;
    }
    if (r) {
        snprintf(err, errlen, "igmp: %s",
                 r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
        return r;
    }
    if (c.op == IGMP_OP_LIST) {
        igmp_add_list(resp, &c);
        return 0;
    }
    cJSON_AddStringToObject(resp, "group", group);
    cJSON_AddBoolToObject(resp, "joined", c.op == IGMP_OP_JOIN);
    return 0;
}

#else /* !LWIP_IGMP */

int cmd_igmp(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    (void)ctx, (void)req, (void)resp;
    snprintf(err, errlen, "igmp: this lwIP is built without IGMP (LWIP_IGMP 0)");
    return -EOPNOTSUPP;
}

#endif /* LWIP_IGMP */
