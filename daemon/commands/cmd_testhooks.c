/* SPDX-License-Identifier: MIT */
/* Control commands that damage the stack on purpose, for the tests; the
 * dispatcher runs them only under --test-hooks. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apps/testhooks.h"
#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"
#include "daemon/stack.h"
#include "netif_tap/netif_tap.h"

/* Free a pbuf chain from its second element, the way the pbuf chain free
 * bug does: the head leaks. */
int cmd_testhooks_wrong_free(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                             size_t errlen)
{
    struct testhooks_wrong_free wf = {0};
    int r;

    (void)ctx, (void)req;
    r = stack_call(testhooks_pbuf_wrong_free, &wf, sizeof(wf), COMMANDS_STACK_TIMEOUT_MS);
    if (r) {
        snprintf(err, errlen, "test-wrong-free: %s", strerror(-r));
        return r;
    }
    cJSON_AddNumberToObject(resp, "chain", wf.chain);
    cJSON_AddNumberToObject(resp, "freed", wf.freed);
    cJSON_AddNumberToObject(resp, "head_leaked", wf.head_leaked);
    return 0;
}

/* Block the tcpip thread for "ms" (the watchdog tests): answered as soon as
 * the stall has begun, or has ended if it is shorter than the wait. */
int cmd_testhooks_stall(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                        size_t errlen)
{
    struct testhooks_stall st;
    long ms;
    int r;

    (void)ctx;
    if (commands_int_field(req, "ms", 1, 600000, 1000, &ms, err, errlen))
        return -EINVAL;
    st.ms = (unsigned)ms;
    r = stack_call(testhooks_stall, &st, sizeof(st), 20);
    if (r != 0 && r != -ETIMEDOUT) {
        snprintf(err, errlen, "test-stall: %s", strerror(-r));
        return r;
    }
    cJSON_AddNumberToObject(resp, "stall_ms", (double)ms);
    return 0;
}

/* Arm the driver's next TX-complete ISR to post the wrong way (a blocking
 * tcpip_callback()); the ISR checker's report follows the next frame out. */
int cmd_testhooks_isr_post(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                           size_t errlen)
{
    int r;

    (void)req, (void)resp;
    r = netif_tap_test_isr_post(ctx->d->tap);
    if (r) {
        snprintf(err, errlen, "test-isr-post: %s",
                 r == -ENOTSUP ? "needs --tx-mode ring" : strerror(-r));
        return r;
    }
    return 0;
}
