/* SPDX-License-Identifier: MIT */
/* What the command handlers (daemon/commands/cmd_*.c) share with the
 * dispatcher (daemon/commands.c): the context, the field readers, deferred
 * answers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/commands.h"

struct cJSON;

/* How long a handler waits for the tcpip thread to run a call. */
#define COMMANDS_STACK_TIMEOUT_MS 2000

/* A handler's return value when it answers later, through commands_finish(). */
#define COMMANDS_DEFERRED 1

/* What a command runs with. */
struct commands_ctx {
    struct daemon *d;
    struct control_req *creq;
    const struct cJSON *id;
};

/* A command handler: fills RESP and returns 0, returns -errno with a
 * message in ERR, or returns COMMANDS_DEFERRED after commands_defer(). */
typedef int (*commands_handler_fn)(struct commands_ctx *ctx, const struct cJSON *req,
                                   struct cJSON *resp, char *err, size_t errlen);

const char *commands_str_field(const struct cJSON *req, const char *name);
int commands_int_field(const struct cJSON *req, const char *name, long min, long max, long def,
                       long *out, char *err, size_t errlen);
int commands_bool_field(const struct cJSON *req, const char *name, bool *out, char *err,
                        size_t errlen);

struct commands_deferred *commands_defer(struct commands_ctx *ctx);
void commands_finish(struct commands_deferred *dd, struct cJSON *fields, const char *error);
int commands_progress(struct commands_deferred *dd, struct cJSON *fields);
bool commands_client_gone(struct commands_deferred *dd);
