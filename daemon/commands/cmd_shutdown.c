/* SPDX-License-Identifier: MIT */
/* Control command "shutdown": stop lwipd with exit code 0. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>

#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"

int cmd_shutdown(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    (void)req, (void)resp, (void)err, (void)errlen;
    daemon_request_stop(ctx->d, 0);
    return 0;
}
