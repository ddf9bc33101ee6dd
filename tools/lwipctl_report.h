/* SPDX-License-Identifier: MIT */
/* lwipctl's report command: the last crash report's text form. */
#pragma once

#include <cjson/cJSON.h>

/* Send the request line REQ to the control socket SOCK and return the
 * parsed response, or NULL (no daemon, no answer within TIMEOUT seconds,
 * not JSON). lwipctl.c's lwipctl_ask() is one. */
typedef cJSON *(*lwipctl_ask_fn)(const char *sock, const char *req, double timeout);

cJSON *lwipctl_ask(const char *sock, const char *req, double timeout);
int lwipctl_report(int argc, char **argv, const char *sock, double timeout, lwipctl_ask_fn ask);
