/* SPDX-License-Identifier: MIT */
/* One logging API for all of lwipd: log_err/warn/info/debug(GROUP, fmt, ...). */
#pragma once

#include <stdbool.h>
#include <syslog.h>
#include <time.h>

extern int log_level_current;

int log_init(const char *ident, int level);
int log_open_file(const char *path);
int log_level_parse(const char *name, int *level);
const char *log_level_name(int level);
void log_msg(int level, const char *group, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The fatal path's logger: no stdio, malloc or locks (crash/fatal.c). */
void log_write_safe(int level, const char *group, const char *text);
bool log_to_stderr(void);
void log_utc_time(time_t secs, struct tm *tm);

#define LOG_AT(lvl, grp, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) <= log_level_current)                                                            \
            log_msg((lvl), (grp), __VA_ARGS__);                                                    \
    } while (0)
#define log_err(grp, ...)   LOG_AT(LOG_ERR, grp, __VA_ARGS__)
#define log_warn(grp, ...)  LOG_AT(LOG_WARNING, grp, __VA_ARGS__)
#define log_info(grp, ...)  LOG_AT(LOG_INFO, grp, __VA_ARGS__)
#define log_debug(grp, ...) LOG_AT(LOG_DEBUG, grp, __VA_ARGS__)
