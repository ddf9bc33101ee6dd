/* SPDX-License-Identifier: MIT */
/* Control command "link": read the link state, plug or pull the cable. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"
#include "daemon/stack.h"
#include "netif_tap/netif_tap.h"

int cmd_link(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(req, "state");

    if (state) {
        int up, r;

        if (!cJSON_IsString(state) || ((up = strcmp(state->valuestring, "up") == 0) == 0 &&
                                       strcmp(state->valuestring, "down") != 0)) {
            snprintf(err, errlen, "link: \"state\" must be \"up\" or \"down\"");
            return -EINVAL;
        }
        const char *when = commands_str_field(req, "when");
        if (when && (up || strcmp(when, "tx-busy") != 0)) {
            snprintf(err, errlen, "link: \"when\":\"tx-busy\" is for pulling the cable only");
            return -EINVAL;
        }
        r = when ? stack_set_link_when_tx_busy(COMMANDS_STACK_TIMEOUT_MS)
                 : stack_set_link(up, COMMANDS_STACK_TIMEOUT_MS);
        if (r == -EAGAIN) {
            snprintf(err, errlen, "link: no frame was in flight within %d ms",
                     COMMANDS_STACK_TIMEOUT_MS);
            return r;
        }
        if (r) {
            snprintf(err, errlen, "link: %s",
                     r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
            return r;
        }
    }
    cJSON_AddStringToObject(resp, "link", netif_tap_link_is_up(ctx->d->tap) ? "up" : "down");
    return 0;
}
