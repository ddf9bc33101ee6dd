/* SPDX-License-Identifier: MIT */
/* Control commands: request parsing and dispatch. */
#pragma once

#include <stddef.h>

struct cJSON;
struct daemon;
struct control_req;
struct commands_deferred;

/* A request is a JSON object with a string "cmd"; "id", if present, is
 * echoed in the response. */
struct cJSON *commands_parse(const char *line, size_t len, char *err, size_t errlen);
char *commands_handle(void *daemon, struct control_req *creq, const char *line, size_t len);
int commands_stop(void);
