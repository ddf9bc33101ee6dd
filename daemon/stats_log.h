/* SPDX-License-Identifier: MIT */
/* --stats-log: the stats document as JSON lines, one record an interval,
 * written from the event loop. */
#pragma once

struct daemon;
struct stats_log;

struct stats_log *stats_log_new(struct daemon *d, const char *path, unsigned interval_ms);
int stats_log_reopen(struct stats_log *sl);
int stats_log_write(struct stats_log *sl);
void stats_log_free(struct stats_log *sl);
