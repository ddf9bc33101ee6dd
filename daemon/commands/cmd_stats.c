/* SPDX-License-Identifier: MIT */
/* Control command "stats": every counter. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>

#include "daemon/commands_priv.h"
#include "daemon/stats.h"

int cmd_stats(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    cJSON *s = stats_json(ctx->d);

    (void)req;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cJSON_AddItemToObject(resp, "stats", s);
    return 0;
}
