/* SPDX-License-Identifier: MIT */
/* Control commands: request parsing and dispatch. */
#pragma once

#include <stddef.h>

struct cJSON;
struct daemon;
struct control_req;

/* A request is a JSON object with a string "cmd"; "id", if present, is
 * echoed in the response. */
struct cJSON *commands_parse(const char *line, size_t len, char *err, size_t errlen);
struct cmd_ctx;
struct cmd_deferred;

struct cmd_deferred *cmd_defer(struct cmd_ctx *ctx);
void cmd_finish(struct cmd_deferred *dd, struct cJSON *fields, const char *error);
char *commands_handle(void *daemon, struct control_req *creq, const char *line, size_t len);
