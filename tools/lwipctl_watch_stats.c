/* SPDX-License-Identifier: MIT */
/* lwipctl stats --interval S [--count N]: every S seconds the change of
 * every counter per second, a vmstat-like row of the ones that matter (or,
 * with --json, a JSON object of every number that changed). */
#define _GNU_SOURCE
#include "lwipctl_watch_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A stats document flattened: "driver.rx_frames" -> value, numbers only. */
struct flat {
    size_t n, cap;
    char **path;
    double *val;
};

static void flat_free(struct flat *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    free(f->val);
    memset(f, 0, sizeof(*f));
}

static void flat_walk(struct flat *f, const cJSON *o, const char *prefix)
{
    int idx = 0;

    for (const cJSON *c = o->child; c; c = c->next, idx++) {
        char path[256];

        if (c->string)
            snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", c->string);
        else
            snprintf(path, sizeof(path), "%s%s%d", prefix, *prefix ? "." : "", idx);
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            flat_walk(f, c, path);
            continue;
        }
        if (!cJSON_IsNumber(c))
            continue;
        if (f->n == f->cap) {
            size_t cap = f->cap * 2 + 64;
            char **p = realloc(f->path, cap * sizeof(*p));
            double *v = p ? realloc(f->val, cap * sizeof(*v)) : NULL;

            if (p)
                f->path = p;
            if (!v)
                return; /* out of memory: fewer counters */
            f->val = v;
            f->cap = cap;
        }
        if ((f->path[f->n] = strdup(path)) != NULL)
            f->val[f->n++] = c->valuedouble;
    }
}

/* The index of PATH in F, or -1; HINT is where it most likely is (the
 * documents come in the same order each time). */
static long flat_find(const struct flat *f, const char *path, size_t hint)
{
    if (hint < f->n && strcmp(f->path[hint], path) == 0)
        return (long)hint;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->path[i], path) == 0)
            return (long)i;
    return -1;
}

/* The sum of F's values whose path starts with PREFIX and ends with SUFFIX
 * (SUFFIX "" for one exact path); *FOUND whether there was any. */
static double flat_sum(const struct flat *f, const char *prefix, const char *suffix, bool *found)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    double s = 0;

    *found = false;
    for (size_t i = 0; i < f->n; i++) {
        size_t l = strlen(f->path[i]);

        if (strncmp(f->path[i], prefix, pl) != 0 || l < pl + sl || (sl == 0 && l != pl) ||
            strcmp(f->path[i] + l - sl, suffix) != 0)
            continue;
        s += f->val[i];
        *found = true;
    }
    return s;
}

/* Ask for the stats and flatten them into F. 0, or an exit code. */
static int stats_sample(struct watch_conn *c, double timeout, struct flat *f)
{
    cJSON *resp = NULL, *req = cJSON_CreateObject();
    int r;

    cJSON_AddStringToObject(req, "cmd", "stats");
    if ((r = watch_conn_send(c, req)) != 0 || (r = watch_conn_answer(c, timeout, &resp)) != 0 ||
        !resp) {
        cJSON_Delete(resp);
        return r;
    }
    flat_walk(f, cJSON_GetObjectItemCaseSensitive(resp, "stats"), "");
    cJSON_Delete(resp);
    return 0;
}

/* A vmstat column: a title and where its figure comes from (a counter's
 * rate, or a gauge's value when RATE is false). Sums over every element
 * whose path starts with PREFIX and ends with SUFFIX; ALT when PREFIX is
 * absent (lwIP built without MIB2). */
struct column {
    const char *title;
    const char *prefix, *suffix, *alt;
    bool rate;
};

static const struct column columns[] = {
    {"rxfr/s", "driver.rx_frames", "", NULL, true},
    {"txfr/s", "driver.tx_frames", "", NULL, true},
    {"rxB/s", "driver.rx_bytes", "", NULL, true},
    {"txB/s", "driver.tx_bytes", "", NULL, true},
    {"tcpin/s", "lwip.mib2.tcpinsegs", "", "lwip.tcp.recv", true},
    {"tcpout/s", "lwip.mib2.tcpoutsegs", "", "lwip.tcp.xmit", true},
    {"retx/s", "lwip.mib2.tcpretranssegs", "", NULL, true},
    {"irq/s", "irq.", ".raised", NULL, true},
    {"isrfree/s", "driver.free_isr", "", NULL, true},
    {"fault/s", "fault.rules.", ".acted", NULL, true},
    {"heap", "lwip.mem.used", "", NULL, false},
    {"pools", "lwip.memp.", ".used", NULL, false},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* V in at most 9 characters: 1234, 12.3k, 4.56M, 7.89G. */
static void human(char *buf, size_t len, double v)
{
    const char *unit = "kMGT";
    int u = -1;

    if (v < 0.5 && v > -0.5) {
        snprintf(buf, len, "0");
        return;
    }
    while ((v >= 10000 || v <= -10000) && u < 3) {
        v /= 1000;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, v < 10 && v > -10 && v != (long)v ? "%.1f" : "%.0f", v);
    else
        snprintf(buf, len, "%.*f%c", (v < 100 && v > -100) ? 1 : 0, v, unit[u]);
}

/* One vmstat row: PREV to CUR over DT seconds. */
static bool stats_row_human(const struct flat *prev, const struct flat *cur, double dt)
{
    char line[512];
    size_t off = 0;

    for (size_t i = 0; i < NCOLUMNS; i++) {
        const struct column *col = &columns[i];
        const char *prefix = col->prefix;
        bool found, pfound;
        double v = flat_sum(cur, prefix, col->suffix, &found);
        char cell[32] = "-";

        if (!found && col->alt) {
            prefix = col->alt;
            v = flat_sum(cur, prefix, "", &found);
        }
        if (!found && col->suffix[0])
            found = true; /* a sum over no element (no fault rule): 0 */
        if (found && col->rate) {
            double p = flat_sum(prev, prefix, col->suffix, &pfound);
            human(cell, sizeof(cell), v - p > 0 ? (v - p) / dt : 0);
        } else if (found) {
            human(cell, sizeof(cell), v);
        }
        off += (size_t)snprintf(line + off, sizeof(line) - off, "%*s", i ? 10 : 9, cell);
    }
    return watch_out_line(line, off);
}

/* One JSON line: {"ts_ns", "interval_s", "rates": {path: per second}} with
 * every number that changed from PREV to CUR over DT seconds (gauges too,
 * so a rate may be negative). */
static bool stats_row_json(const struct flat *prev, const struct flat *cur, double dt)
{
    cJSON *o = cJSON_CreateObject(), *rates = cJSON_CreateObject();
    struct timespec ts;
    char tsbuf[32], *s;
    bool ok = false;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(tsbuf, sizeof(tsbuf), "%llu",
             (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
    cJSON_AddRawToObject(o, "ts_ns", tsbuf); /* exact: a double cannot hold it */
    cJSON_AddNumberToObject(o, "interval_s", dt);
    for (size_t i = 0; i < cur->n; i++) {
        long j = flat_find(prev, cur->path[i], i);

        if (j >= 0 && cur->val[i] != prev->val[j])
            cJSON_AddNumberToObject(rates, cur->path[i], (cur->val[i] - prev->val[j]) / dt);
    }
    cJSON_AddItemToObject(o, "rates", rates);
    s = cJSON_PrintUnformatted(o);
    if (s)
        ok = watch_out_line(s, strlen(s));
    free(s);
    cJSON_Delete(o);
    return ok;
}

/* stats --interval: a first sample, then COUNT rows (0: until stopped),
 * one each INTERVAL seconds, human (a header first) or JSON. Returns the
 * exit code: 0 also when stopped by a signal or a closed stdout. */
int watch_stats(struct watch_conn *c, double interval, long count, bool json, double timeout)
{
    struct flat prev = {0}, cur = {0};
    double start = watch_now_s(CLOCK_MONOTONIC), t_prev = start;
    int r = stats_sample(c, timeout, &prev);

    if (r == 0 && !json) {
        char head[256];
        size_t off = 0;

        for (size_t i = 0; i < NCOLUMNS; i++)
            off += (size_t)snprintf(head + off, sizeof(head) - off, "%*s", i ? 10 : 9,
                                    columns[i].title);
        watch_out_line(head, off);
    }
    for (long n = 0; r == 0 && !watch_stopping && (!count || n < count); n++) {
        /* a steady beat: each sample at start + k * interval */
        double wake = start + (n + 1) * interval, left = wake - watch_now_s(CLOCK_MONOTONIC);

        if (left > 0) {
            struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
            if (nanosleep(&ts, NULL) != 0 && watch_stopping)
                break;
        }
        if ((r = stats_sample(c, timeout, &cur)) != 0 || watch_stopping)
            break;
        double t = watch_now_s(CLOCK_MONOTONIC);
        if (!(json ? stats_row_json : stats_row_human)(&prev, &cur, t - t_prev))
            break;
        flat_free(&prev);
        prev = cur;
        memset(&cur, 0, sizeof(cur));
        t_prev = t;
    }
    flat_free(&prev);
    flat_free(&cur);
    return r;
}
