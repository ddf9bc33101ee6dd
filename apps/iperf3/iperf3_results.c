/* SPDX-License-Identifier: MIT */
/* The iperf3 results JSON (cJSON). The parser takes untrusted bytes from
 * the network: every value is type- and range-checked, and a failure
 * leaves nothing allocated. Keys are looked up case-insensitively and
 * unknown keys ignored, as iperf3 3.12 does. */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_results.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_POW_63 9223372036854775808.0

#define ERR(code, ...) (snprintf(err, errlen, __VA_ARGS__), (code))

/* The results JSON for R. Returns a malloc'd string, or NULL (no memory). */
char *iperf3_results_format(const struct iperf3_results *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *arr;
    char *s = NULL;

    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "cpu_util_total", r->cpu_total);
    cJSON_AddNumberToObject(j, "cpu_util_user", r->cpu_user);
    cJSON_AddNumberToObject(j, "cpu_util_system", r->cpu_system);
    cJSON_AddNumberToObject(j, "sender_has_retransmits", r->sender_has_retransmits);
    if (r->server_output_text)
        cJSON_AddStringToObject(j, "server_output_text", r->server_output_text);
    arr = cJSON_AddArrayToObject(j, "streams");
    if (!arr)
        goto out;
    for (unsigned i = 0; i < r->nstreams; i++) {
        const struct iperf3_results_stream *sr = &r->streams[i];
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto out;
        }
        cJSON_AddNumberToObject(o, "id", sr->id);
        cJSON_AddNumberToObject(o, "bytes", (double)sr->bytes);
        cJSON_AddNumberToObject(o, "retransmits", (double)sr->retransmits);
        cJSON_AddNumberToObject(o, "jitter", sr->jitter);
        cJSON_AddNumberToObject(o, "errors", (double)sr->errors);
        cJSON_AddNumberToObject(o, "packets", (double)sr->packets);
        cJSON_AddNumberToObject(o, "start_time", sr->start_time);
        if (sr->end_time >= 0)
            cJSON_AddNumberToObject(o, "end_time", sr->end_time);
    }
    s = cJSON_PrintUnformatted(j);
out:
    cJSON_Delete(j);
    return s;
}

/* A signed count: 3.12 prints -1 as 18446744073709551615, so anything at
 * or above 2^63 reads as -1. 0 or -EINVAL. */
static int count_of(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    double d;

    if (!cJSON_IsNumber(v))
        return -EINVAL;
    d = v->valuedouble;
    if (d >= TWO_POW_63)
        *out = -1;
    else if (d > -TWO_POW_63)
        *out = (int64_t)d;
    else
        return -EINVAL;
    return 0;
}

static int real_of(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    if (!cJSON_IsNumber(v))
        return -EINVAL;
    *out = v->valuedouble;
    return 0;
}

#define RESULTS_MAX_STREAMS (4 * IPERF3_MAX_PARALLEL)

static int stream_from_object(const cJSON *o, struct iperf3_results_stream *sr, char *err,
                              size_t errlen)
{
    int64_t id, bytes;

    if (!cJSON_IsObject(o))
        return ERR(-EINVAL, "a stream is not an object");
    if (count_of(o, "id", &id) || id < 1 || id > 65535)
        return ERR(-EINVAL, "a stream has no valid \"id\"");
    if (count_of(o, "bytes", &bytes) || bytes < 0)
        return ERR(-EINVAL, "stream %lld: no valid \"bytes\"", (long long)id);
    if (count_of(o, "retransmits", &sr->retransmits) || real_of(o, "jitter", &sr->jitter) ||
        count_of(o, "errors", &sr->errors) || count_of(o, "packets", &sr->packets))
        return ERR(-EINVAL, "stream %lld: retransmits, jitter, errors and packets are required",
                   (long long)id);
    sr->id = (uint32_t)id;
    sr->bytes = (uint64_t)bytes;
    sr->start_time = 0;
    sr->end_time = -1;
    if (real_of(o, "start_time", &sr->start_time) == 0 && real_of(o, "end_time", &sr->end_time))
        sr->end_time = -1;
    return 0;
}

/* Parse the peer's results JSON (LEN untrusted bytes). Every key a stock
 * peer requires is required here too; unknown keys are ignored. On success
 * OUT owns malloc'd memory: release it with iperf3_results_free(). On
 * failure returns -EMSGSIZE, -EINVAL, -E2BIG (too many streams) or
 * -ENOMEM with a message in ERR, and OUT holds nothing. */
int iperf3_results_parse(const char *json, size_t len, struct iperf3_results *out, char *err,
                         size_t errlen)
{
    const cJSON *streams, *text, *sj;
    int64_t shr;
    cJSON *j = NULL;
    int n, r = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > IPERF3_RESULTS_MAX)
        return ERR(-EMSGSIZE, "results JSON of %zu bytes", len);
    j = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(j)) {
        r = ERR(-EINVAL, "results are not a JSON object");
        goto out;
    }
    if (real_of(j, "cpu_util_total", &out->cpu_total) ||
        real_of(j, "cpu_util_user", &out->cpu_user) ||
        real_of(j, "cpu_util_system", &out->cpu_system) ||
        count_of(j, "sender_has_retransmits", &shr)) {
        r = ERR(-EINVAL, "results lack the cpu_util_* or sender_has_retransmits numbers");
        goto out;
    }
    out->sender_has_retransmits = shr < 0 ? -1 : shr > 0;
    streams = cJSON_GetObjectItem(j, "streams");
    if (!cJSON_IsArray(streams)) {
        r = ERR(-EINVAL, "results have no \"streams\" array");
        goto out;
    }
    n = cJSON_GetArraySize(streams);
    if (n > RESULTS_MAX_STREAMS) {
        r = ERR(-E2BIG, "results list %d streams", n);
        goto out;
    }
    if (n > 0) {
        out->streams = calloc((size_t)n, sizeof(*out->streams));
        if (!out->streams) {
            r = ERR(-ENOMEM, "out of memory");
            goto out;
        }
    }
    out->nstreams = (unsigned)n;
    sj = streams->child;
    for (int i = 0; i < n; i++, sj = sj->next) {
        r = stream_from_object(sj, &out->streams[i], err, errlen);
        if (r)
            goto out;
    }
    text = cJSON_GetObjectItem(j, "server_output_text");
    if (cJSON_IsString(text)) {
        out->server_output_text = strdup(text->valuestring);
    } else if ((text = cJSON_GetObjectItem(j, "server_output_json")) != NULL) {
        out->server_output_text = cJSON_PrintUnformatted(text);
    } else {
        text = NULL;
    }
    if (text && !out->server_output_text)
        r = ERR(-ENOMEM, "out of memory");
out:
    cJSON_Delete(j);
    if (r)
        iperf3_results_free(out);
    return r;
}

/* Release what iperf3_results_parse() allocated (safe on a zeroed R). */
void iperf3_results_free(struct iperf3_results *r)
{
    free(r->streams);
    free(r->server_output_text);
    memset(r, 0, sizeof(*r));
}
