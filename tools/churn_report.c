/* SPDX-License-Identifier: MIT */
/* lwipd-churn's results: failures counted by name, latency percentiles and
 * the one-line JSON summary. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwipd_churn.h"

static const char *const pattern_names[P_COUNT] = {[P_CLIENT_CLOSE] = "client-close",
                                                   [P_SERVER_CLOSE] = "server-close",
                                                   [P_RST] = "rst",
                                                   [P_HALF_CLOSE] = "half-close",
                                                   [P_VANISH] = "vanish"};

/* The pattern's name as --pattern writes it. */
const char *churn_report_pattern_name(enum pattern p)
{
    return (unsigned)p < P_COUNT ? pattern_names[p] : "?";
}

/* Count one failure called NAME (a string that outlives the run); past
 * MAX_FAILKINDS distinct names, the last one counts the rest. */
void churn_report_fail(struct run *r, const char *name)
{
    for (int i = 0; i < MAX_FAILKINDS; i++) {
        if (!r->fails[i].name || strcmp(r->fails[i].name, name) == 0) {
            r->fails[i].name = name;
            r->fails[i].n++;
            return;
        }
    }
    r->fails[MAX_FAILKINDS - 1].n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static cJSON *percentiles(double *v, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"max", 1.0}};

    qsort(v, n, sizeof(*v), cmp_double);
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        if (n == 0) {
            cJSON_AddNullToObject(o, qs[i].name);
            continue;
        }
        size_t k = (size_t)(qs[i].q * (double)(n - 1) + 0.5);
        cJSON_AddNumberToObject(o, qs[i].name, v[k]);
    }
    return o;
}

/* Print the run's summary, one JSON line on stdout. Sorts the samples. */
void churn_report_print(struct run *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *f = cJSON_CreateObject(), *pats = cJSON_CreateObject();
    char dst[64];
    double secs = (double)(r->last_ns - r->start_ns) / 1e9;
    char *s;

    snprintf(dst, sizeof(dst), "%s:%u", inet_ntoa(r->dst.sin_addr), ntohs(r->dst.sin_port));
    cJSON_AddStringToObject(o, "target", dst);
    cJSON_AddStringToObject(o, "pattern", r->pattern_arg);
    cJSON_AddNumberToObject(o, "concurrency", r->concurrency);
    cJSON_AddNumberToObject(o, "payload", (double)r->payload);
    cJSON_AddNumberToObject(o, "requested", (double)r->count);
    cJSON_AddNumberToObject(o, "started", (double)r->started);
    cJSON_AddNumberToObject(o, "ok", (double)r->ok);
    cJSON_AddNumberToObject(o, "failed", (double)r->failed);
    for (int i = 0; i < MAX_FAILKINDS && r->fails[i].name; i++)
        cJSON_AddNumberToObject(f, r->fails[i].name, (double)r->fails[i].n);
    cJSON_AddItemToObject(o, "failures", f);
    for (int p = 0; p < P_COUNT; p++) {
        if (r->pat_ok[p] + r->pat_failed[p] == 0)
            continue;
        cJSON *po = cJSON_CreateObject();
        cJSON_AddNumberToObject(po, "ok", (double)r->pat_ok[p]);
        cJSON_AddNumberToObject(po, "failed", (double)r->pat_failed[p]);
        cJSON_AddItemToObject(pats, pattern_names[p], po);
    }
    cJSON_AddItemToObject(o, "patterns", pats);
    cJSON_AddNumberToObject(o, "seconds", secs);
    cJSON_AddNumberToObject(o, "connections_per_s", secs > 0 ? (double)r->ok / secs : 0);
    cJSON_AddItemToObject(o, "connect_ms", percentiles(r->connect_ms, r->nsamples));
    cJSON_AddItemToObject(o, "total_ms", percentiles(r->total_ms, r->nsamples));
    cJSON_AddStringToObject(o, "stopped_by", r->stopped_by ? r->stopped_by : "count");
    s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}
