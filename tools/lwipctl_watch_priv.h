/* SPDX-License-Identifier: MIT */
/* What lwipctl's watch commands share (lwipctl_watch.c: the connection, the
 * signals, the output; lwipctl_watch_stats.c: stats --interval). */
#pragma once

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* lwipctl's exit codes (lwipctl(1)) */
#define EXIT_FAILED      1
#define EXIT_USAGE       64
#define EXIT_UNAVAILABLE 69
#define EXIT_TEMPFAIL    75
#define EXIT_PROTOCOL    76

struct watch_conn;

/* Set by Ctrl-C, SIGTERM or a reader gone from stdout: end, exit 0. */
extern volatile sig_atomic_t watch_stopping;

bool watch_out_line(const char *line, size_t len);
double watch_now_s(clockid_t clk);
int watch_conn_send(struct watch_conn *c, cJSON *req);
int watch_conn_answer(struct watch_conn *c, double timeout_s, cJSON **resp);
int watch_stats(struct watch_conn *c, double interval, long count, bool json, double timeout);
