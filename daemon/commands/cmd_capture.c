/* SPDX-License-Identifier: MIT */
/* Control command "capture": start, stop, rotate the pcap; mark the events log.
 * A client names a new file only inside the capture directory, and only
 * root and lwipd's own user may (lwipd(8), SECURITY). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "base/events.h"
#include "daemon/commands_priv.h"
#include "daemon/control.h"
#include "daemon/daemon_priv.h"

/* May the client of CTX name a capture file? Root and lwipd's own user
 * may; others (members of --control-group) only with
 * --control-allow-group-writes. 0, or -EPERM with ERR set. */
static int may_name_files(struct commands_ctx *ctx, char *err, size_t errlen)
{
    uid_t uid;

    if (ctx->d->args->control_group_writes)
        return 0;
    if (control_req_peer_uid(ctx->creq, &uid) == 0 && (uid == 0 || uid == geteuid()))
        return 0;
    snprintf(err, errlen,
             "capture start: only root and lwipd's user (uid %u) may name a capture file "
             "(lwipd --control-allow-group-writes lets the control group); \"capture start\" "
             "without a name reopens the last file",
             (unsigned)geteuid());
    return -EPERM;
}

/* "capture start" [NAME]: NAME in the capture directory, else the last file. */
static int start(struct commands_ctx *ctx, const char *name, char *err, size_t errlen)
{
    struct daemon *d = ctx->d;
    char why[256];
    int ret;

    if (!name) {
        ret = capture_start(d->capture, NULL, why, sizeof(why));
    } else if ((ret = may_name_files(ctx, err, errlen)) != 0) {
        return ret;
    } else if (d->capture_dirfd < 0) {
        snprintf(err, errlen,
                 "capture start: no capture directory (start lwipd with --capture-dir DIR or "
                 "--pcap FILE)");
        return -EPERM;
    } else {
        ret =
            capture_start_at(d->capture, d->capture_dirfd, d->capture_dir, name, why, sizeof(why));
    }
    if (ret != 0)
        snprintf(err, errlen, "capture start: %s", why);
    return ret;
}

int cmd_capture(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const char *op = commands_str_field(req, "op");
    struct capture *c = ctx->d->capture;

    if (!op) {
        snprintf(err, errlen, "capture: \"op\" must be start, stop, rotate or mark");
        return -EINVAL;
    }
    if (strcmp(op, "start") == 0) {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(req, "path");
        int ret;

        if (path && !cJSON_IsString(path)) {
            snprintf(err, errlen, "capture start: \"path\" must be a file name");
            return -EINVAL;
        }
        ret = start(ctx, commands_str_field(req, "path"), err, errlen);

        if (ret != 0)
            return ret;
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
