/* SPDX-License-Identifier: MIT */
/* Control socket: Unix stream socket, one JSON object per line each way. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct control;

#define CONTROL_MAX_LINE    65536
#define CONTROL_MAX_CLIENTS 64

/* Turns one request line into one response line (malloc'd, no newline). */
typedef char *(*control_handler_cb)(void *arg, const char *line, size_t len);

struct control *control_new(struct event_base *base, const char *path, mode_t mode,
                            control_handler_cb handler, void *arg, int *err);
void control_free(struct control *c);
unsigned control_clients(const struct control *c);
