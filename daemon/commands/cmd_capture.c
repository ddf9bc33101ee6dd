/* SPDX-License-Identifier: MIT */
/* Control command "capture": start, stop, rotate the pcap; mark the events log. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "base/events.h"
#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"

int cmd_capture(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = commands_str_field(req, "op");
    struct capture *c = ctx->d->capture;
    char why[256];

    if (!op) {
        snprintf(err, errlen, "capture: \"op\" must be start, stop, rotate or mark");
        return -EINVAL;
    }
    if (strcmp(op, "start") == 0) {
        if (capture_start(c, commands_str_field(req, "path"), why, sizeof(why)) != 0) {
            snprintf(err, errlen, "capture start: %s", why);
            return -EINVAL;
        }
        events_emit("capture", "\"op\":\"start\"");
    } else if (strcmp(op, "stop") == 0) {
        capture_stop(c);
        events_emit("capture", "\"op\":\"stop\"");
    } else if (strcmp(op, "rotate") == 0) {
        if (!capture_running(c)) {
            snprintf(err, errlen, "capture rotate: not capturing");
            return -EINVAL;
        }
        capture_rotate(c);
        events_emit("capture", "\"op\":\"rotate\"");
    } else if (strcmp(op, "mark") == 0) {
        const char *text = commands_str_field(req, "text");
        cJSON *js = text ? cJSON_CreateString(text) : NULL;
        char *quoted = js ? cJSON_PrintUnformatted(js) : NULL;

        cJSON_Delete(js);
        if (!quoted || strlen(quoted) > EVENTS_TEXT_LEN - 16) {
            free(quoted);
            snprintf(err, errlen, "capture mark: needs a \"text\" of at most %d characters",
                     EVENTS_TEXT_LEN - 32);
            return -EINVAL;
        }
        uint64_t seq = events_emit("mark", "\"text\":%s", quoted);
        free(quoted);
        cJSON_AddNumberToObject(resp, "event", (double)seq);
    } else {
        snprintf(err, errlen, "capture: \"op\" must be start, stop, rotate or mark");
        return -EINVAL;
    }
    cJSON_AddBoolToObject(resp, "capturing", capture_running(c));
    cJSON_AddStringToObject(resp, "path", capture_path(c));
    return 0;
}
