/* SPDX-License-Identifier: MIT */
/* Control command "fault": list, add, delete and clear fault rules. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"
#include "daemon/stats.h"
#include "fault_inject/fault.h"

int cmd_fault(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = commands_str_field(req, "op");
    struct fault *f = ctx->d->fault;

    if (!op || strcmp(op, "list") == 0) {
        struct fault_stats fs;

        cJSON_AddItemToObject(resp, "rules", stats_fault_rules_json(f));
        fault_get_stats(f, &fs);
        cJSON_AddNumberToObject(resp, "delayed_now", (double)fs.delayed_now);
        return 0;
    }
    if (strcmp(op, "add") == 0) {
        const char *rule = commands_str_field(req, "rule");
        char why[256];
        int id;

        if (!rule) {
            snprintf(err, errlen, "fault add: needs \"rule\"");
            return -EINVAL;
        }
        id = fault_add(f, rule, why, sizeof(why));
        if (id < 0) {
            snprintf(err, errlen, "fault add: %s", why);
            return -EINVAL;
        }
        cJSON_AddNumberToObject(resp, "rule_id", id);
        return 0;
    }
    if (strcmp(op, "del") == 0) {
        long id;
        if (commands_int_field(req, "rule_id", 1, 1000000000, 0, &id, err, errlen))
            return -EINVAL;
        if (id == 0 || fault_del(f, (unsigned)id) != 0) {
            snprintf(err, errlen, "fault del: no rule %ld", id);
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(op, "clear") == 0) {
        fault_clear(f);
        return 0;
    }
    snprintf(err, errlen, "fault: \"op\" must be add, list, del or clear");
    return -EINVAL;
}
