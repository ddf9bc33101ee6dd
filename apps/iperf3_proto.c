/* SPDX-License-Identifier: MIT */
/* iperf3 wire protocol, pure part: parameter and results JSON (cJSON, the
 * control socket's library), framing, UDP header, receiver accounting.
 *
 * The parsers take untrusted bytes from the network: every length is
 * checked before use, every value is type- and range-checked, and a failure
 * leaves nothing allocated. iperf3 3.12 looks keys up case-insensitively
 * and ignores keys it does not know; so do we.
 */
#include "lwipd_config.h"
#include "apps/iperf3_proto.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_POW_53 9007199254740992.0
#define TWO_POW_63 9223372036854775808.0

#define ERR(code, ...) (snprintf(err, errlen, __VA_ARGS__), (code))

/* Defaults for every parameter the client may leave out (iperf3's own). */
void iperf3_params_defaults(struct iperf3_params *p)
{
    memset(p, 0, sizeof(*p));
    p->time = 10;
    p->parallel = 1;
    p->len = IPERF3_TCP_DEFAULT_LEN;
    p->pacing_timer = 1000;
}

/* A flag: absent, null, false and 0 are off; true and non-zero numbers
 * are on (3.12 sends some flags as the number 1). Returns 1, 0, or -1 for
 * a value of another type. */
static int flag_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return 0;
    if (cJSON_IsTrue(v))
        return 1;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "true") == 0 || strcmp(v->valuestring, "1") == 0)
            return 1;
        if (strcmp(v->valuestring, "false") == 0 || strcmp(v->valuestring, "0") == 0)
            return 0;
    }
    return -1;
}

/* A non-negative integer no larger than MAX (absent or null: DEF).
 * 0, -EINVAL (not a number) or -ERANGE. */
static int uint_of(const cJSON *o, const char *key, double max, uint64_t def, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    double d;

    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return -EINVAL;
    d = v->valuedouble;
    /* Also rejects NaN and the infinities strtod makes of "1e999". */
    if (!(d >= 0 && d <= max) || d != (double)(uint64_t)d)
        return -ERANGE;
    *out = (uint64_t)d;
    return 0;
}

struct num_key {
    const char *key;
    double max;
    int ierr;
    size_t off;  /* offsetof the field in struct iperf3_params */
    size_t size; /* 4 or 8 */
};

#define NK(k, field, max, ierr)                                                                    \
    {                                                                                              \
        k, max, ierr, offsetof(struct iperf3_params, field),                                       \
            sizeof(((struct iperf3_params *)0)->field)                                             \
    }

static const struct num_key num_keys[] = {
    NK("omit", omit, IPERF3_MAX_OMIT, IPERF3_IE_OMIT),
    NK("time", time, IPERF3_MAX_TIME, IPERF3_IE_DURATION),
    NK("num", num, TWO_POW_53, IPERF3_IE_RECVPARAMS),
    NK("blockcount", blockcount, TWO_POW_53, IPERF3_IE_RECVPARAMS),
    NK("parallel", parallel, IPERF3_MAX_PARALLEL, IPERF3_IE_NUMSTREAMS),
    NK("bandwidth", bandwidth, TWO_POW_53, IPERF3_IE_RECVPARAMS),
    NK("burst", burst, IPERF3_MAX_BURST, IPERF3_IE_BURST),
    NK("pacing_timer", pacing_timer, 1e9, IPERF3_IE_RECVPARAMS),
    NK("window", window, 2147483647.0, IPERF3_IE_BUFSIZE),
    NK("MSS", mss, 9216, IPERF3_IE_MSS),
    NK("TOS", tos, 255, IPERF3_IE_BADTOS),
};

static const struct {
    const char *key;
    size_t off;
} flag_keys[] = {
    {"reverse", offsetof(struct iperf3_params, reverse)},
    {"bidirectional", offsetof(struct iperf3_params, bidir)},
    {"nodelay", offsetof(struct iperf3_params, nodelay)},
    {"get_server_output", offsetof(struct iperf3_params, get_server_output)},
    {"udp_counters_64bit", offsetof(struct iperf3_params, udp_counters_64bit)},
    {"repeating_payload", offsetof(struct iperf3_params, repeating_payload)},
};

static int params_from_object(const cJSON *j, struct iperf3_params *p, char *err, size_t errlen)
{
    int tcp = flag_of(j, "tcp"), udp = flag_of(j, "udp"), sctp = flag_of(j, "sctp");
    uint64_t len;

    if (tcp < 0 || udp < 0 || sctp < 0) {
        p->ierr = IPERF3_IE_PROTOCOL;
        return ERR(-EINVAL, "protocol flags must be true or a number");
    }
    if (sctp) {
        p->ierr = IPERF3_IE_PROTOCOL;
        return ERR(-EPROTONOSUPPORT, "SCTP is not supported");
    }
    if (tcp && udp) {
        p->ierr = IPERF3_IE_PROTOCOL;
        return ERR(-EINVAL, "both tcp and udp requested");
    }
    p->udp = udp == 1;
    for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
        const struct num_key *k = &num_keys[i];
        char *field = (char *)p + k->off;
        uint64_t v, def;
        int r;

        if (k->size == 8)
            memcpy(&def, field, 8);
        else {
            uint32_t d32;
            memcpy(&d32, field, 4);
            def = d32;
        }
        r = uint_of(j, k->key, k->max, def, &v);
        if (r) {
            p->ierr = k->ierr;
            return ERR(r, "\"%s\" must be an integer from 0 to %.0f", k->key, k->max);
        }
        if (k->size == 8) {
            memcpy(field, &v, 8);
        } else {
            uint32_t v32 = (uint32_t)v;
            memcpy(field, &v32, 4);
        }
    }
    if (p->parallel == 0) {
        p->ierr = IPERF3_IE_NUMSTREAMS;
        return ERR(-ERANGE, "\"parallel\" must be from 1 to %d", IPERF3_MAX_PARALLEL);
    }
    for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
        int f = flag_of(j, flag_keys[i].key);
        if (f < 0) {
            p->ierr = IPERF3_IE_RECVPARAMS;
            return ERR(-EINVAL, "\"%s\" must be true or a number", flag_keys[i].key);
        }
        *(bool *)((char *)p + flag_keys[i].off) = f == 1;
    }
    if (p->reverse && p->bidir) {
        p->ierr = IPERF3_IE_REVERSEBIDIR;
        return ERR(-EINVAL, "reverse and bidirectional together");
    }
    if (p->udp) {
        if (uint_of(j, "len", IPERF3_UDP_MAX_LEN, IPERF3_UDP_DEFAULT_LEN, &len) ||
            len < IPERF3_UDP_MIN_LEN) {
            p->ierr = IPERF3_IE_UDPBLOCKSIZE;
            return ERR(-ERANGE, "UDP \"len\" must be from %d to %d", IPERF3_UDP_MIN_LEN,
                       IPERF3_UDP_MAX_LEN);
        }
    } else if (uint_of(j, "len", IPERF3_TCP_MAX_LEN, IPERF3_TCP_DEFAULT_LEN, &len) || len == 0) {
        p->ierr = IPERF3_IE_BLOCKSIZE;
        return ERR(-ERANGE, "TCP \"len\" must be from 1 to %d", IPERF3_TCP_MAX_LEN);
    }
    p->len = (uint32_t)len;
    const cJSON *cv = cJSON_GetObjectItem(j, "client_version");
    if (cJSON_IsString(cv)) {
        size_t n = 0;
        for (const char *c = cv->valuestring; *c && n + 1 < sizeof(p->client_version); c++)
            if (*c > ' ' && *c < 0x7f)
                p->client_version[n++] = *c;
        p->client_version[n] = '\0';
    }
    return 0;
}

/* Parse and check the client's parameter JSON (LEN bytes at JSON, not
 * NUL-terminated; untrusted). On success fills OUT (defaults for what is
 * absent) and returns 0. On failure returns -EMSGSIZE (empty or over
 * IPERF3_PARAMS_MAX), -EINVAL (not one JSON object, or a value of the
 * wrong type), -ERANGE (a value out of range) or -EPROTONOSUPPORT (SCTP);
 * ERR gets a message and OUT->ierr the iperf3 error code to send back with
 * SERVER_ERROR. Allocates nothing that outlives the call. */
int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *out, char *err,
                        size_t errlen)
{
    const char *end = NULL;
    cJSON *j = NULL;
    int r;

    iperf3_params_defaults(out);
    out->ierr = IPERF3_IE_RECVPARAMS;
    if (len == 0 || len > IPERF3_PARAMS_MAX) {
        r = ERR(-EMSGSIZE, "parameter JSON of %zu bytes (1 to %d allowed)", len, IPERF3_PARAMS_MAX);
        goto out;
    }
    j = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (j) {
        while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
    }
    if (!j || end != json + len) {
        r = ERR(-EINVAL, "parameters are not valid JSON");
        goto out;
    }
    if (!cJSON_IsObject(j)) {
        r = ERR(-EINVAL, "parameters are not a JSON object");
        goto out;
    }
    r = params_from_object(j, out, err, errlen);
out:
    cJSON_Delete(j);
    if (r == 0)
        out->ierr = 0;
    return r;
}

/* The parameter JSON a stock 3.12 client would send for P: same keys,
 * same order, same types (a flag that is off is left out, never false).
 * Returns a malloc'd string, or NULL when out of memory. */
char *iperf3_params_format(const struct iperf3_params *p)
{
    cJSON *j = cJSON_CreateObject();
    char *s = NULL;

    if (!j)
        return NULL;
    cJSON_AddTrueToObject(j, p->udp ? "udp" : "tcp");
    cJSON_AddNumberToObject(j, "omit", p->omit);
    cJSON_AddNumberToObject(j, "time", p->time);
    cJSON_AddNumberToObject(j, "num", (double)p->num);
    cJSON_AddNumberToObject(j, "blockcount", (double)p->blockcount);
    if (p->mss)
        cJSON_AddNumberToObject(j, "MSS", p->mss);
    if (p->nodelay)
        cJSON_AddTrueToObject(j, "nodelay");
    cJSON_AddNumberToObject(j, "parallel", p->parallel);
    if (p->reverse)
        cJSON_AddTrueToObject(j, "reverse");
    if (p->bidir)
        cJSON_AddTrueToObject(j, "bidirectional");
    if (p->window)
        cJSON_AddNumberToObject(j, "window", p->window);
    cJSON_AddNumberToObject(j, "len", p->len);
    if (p->bandwidth)
        cJSON_AddNumberToObject(j, "bandwidth", (double)p->bandwidth);
    cJSON_AddNumberToObject(j, "pacing_timer", p->pacing_timer);
    if (p->burst)
        cJSON_AddNumberToObject(j, "burst", p->burst);
    if (p->tos)
        cJSON_AddNumberToObject(j, "TOS", p->tos);
    if (p->get_server_output)
        cJSON_AddNumberToObject(j, "get_server_output", 1);
    if (p->udp_counters_64bit)
        cJSON_AddNumberToObject(j, "udp_counters_64bit", 1);
    if (p->repeating_payload)
        cJSON_AddNumberToObject(j, "repeating_payload", 1);
    cJSON_AddStringToObject(j, "client_version", p->client_version[0] ? p->client_version : "3.12");
    s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* How many data connections the test has: parallel, twice that for bidir. */
unsigned iperf3_params_streams(const struct iperf3_params *p)
{
    return p->parallel * (p->bidir ? 2u : 1u);
}

/* The implied id of the INDEX-th stream (0-based, creation order): 1, 3,
 * 4, 5, ... (2 is skipped, as every iperf3 since 3.0 does). */
uint32_t iperf3_stream_id(unsigned index)
{
    return index == 0 ? 1u : index + 2u;
}

/* Look at a length-prefixed JSON message at BUF (AVAIL bytes so far).
 * Returns 1 when complete (the body is the *BODY_LEN bytes at BUF + 4),
 * 0 when more bytes are needed, -EMSGSIZE when the announced length is 0
 * or over MAX. */
int iperf3_frame_check(const uint8_t *buf, size_t avail, size_t max, size_t *body_len)
{
    uint32_t n;

    if (avail < 4)
        return 0;
    n = iperf3_get_be32(buf);
    if (n == 0 || n > max)
        return -EMSGSIZE;
    *body_len = n;
    return avail - 4 >= n ? 1 : 0;
}

/* Store V big-endian at B (4 bytes). */
void iperf3_put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* The big-endian 32-bit value at B. */
uint32_t iperf3_get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A cookie like 3.2+ clients make: 36 characters of lower-case base32
 * chosen by RANDOM, then a NUL. */
void iperf3_make_cookie(char cookie[IPERF3_COOKIE_SIZE], const uint8_t random[36])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

    for (int i = 0; i < 36; i++)
        cookie[i] = alphabet[random[i] & 31];
    cookie[36] = '\0';
}

/* Bytes of the datagram header: 12, or 16 with 64-bit counters. */
size_t iperf3_udp_hdr_size(bool counters_64bit)
{
    return counters_64bit ? 16 : 12;
}

/* Write a datagram header at BUF (16 bytes of room): sender time NOW_US
 * as seconds and microseconds, then the sequence number, 32 or 64 bits,
 * all big-endian. Returns the header size. */
size_t iperf3_udp_hdr_put(uint8_t *buf, uint64_t now_us, uint64_t seq, bool counters_64bit)
{
    iperf3_put_be32(buf, (uint32_t)(now_us / 1000000u));
    iperf3_put_be32(buf + 4, (uint32_t)(now_us % 1000000u));
    if (counters_64bit) {
        iperf3_put_be32(buf + 8, (uint32_t)(seq >> 32));
        iperf3_put_be32(buf + 12, (uint32_t)seq);
    } else {
        iperf3_put_be32(buf + 8, (uint32_t)seq);
    }
    return iperf3_udp_hdr_size(counters_64bit);
}

/* Read a datagram header (LEN bytes at BUF). 0, or -EINVAL when too short. */
int iperf3_udp_hdr_get(const uint8_t *buf, size_t len, bool counters_64bit, double *sent_s,
                       uint64_t *seq)
{
    if (len < iperf3_udp_hdr_size(counters_64bit))
        return -EINVAL;
    *sent_s = (double)iperf3_get_be32(buf) + (double)iperf3_get_be32(buf + 4) / 1e6;
    if (counters_64bit)
        *seq = (uint64_t)iperf3_get_be32(buf + 8) << 32 | iperf3_get_be32(buf + 12);
    else
        *seq = iperf3_get_be32(buf + 8);
    return 0;
}

/* Count one received datagram with sequence number SEQ that spent
 * TRANSIT_S seconds on the way (receiver clock minus sender clock; only
 * differences matter). A gap counts as loss; a late datagram counts as
 * out of order and takes one loss back. Jitter is RFC 3550's running
 * estimate (1/16 gain). */
void iperf3_udp_rx_count(struct iperf3_udp_rx *rx, uint64_t seq, double transit_s)
{
    double d;

    if (seq > rx->max_seq) {
        rx->errors += seq - 1 - rx->max_seq;
        rx->max_seq = seq;
    } else {
        rx->out_of_order++;
        if (rx->errors > 0)
            rx->errors--;
    }
    if (!rx->have_transit) {
        rx->prev_transit = transit_s;
        rx->have_transit = true;
    }
    d = transit_s - rx->prev_transit;
    if (d < 0)
        d = -d;
    rx->prev_transit = transit_s;
    rx->jitter += (d - rx->jitter) / 16.0;
}

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
        const struct iperf3_stream_result *sr = &r->streams[i];
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

static int stream_from_object(const cJSON *o, struct iperf3_stream_result *sr, char *err,
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

/* A short description of an iperf3 error code, for reports. */
const char *iperf3_ierr_text(int ierr)
{
    switch (ierr) {
    case IPERF3_IE_DURATION:
        return "test duration out of range";
    case IPERF3_IE_NUMSTREAMS:
        return "number of parallel streams not supported";
    case IPERF3_IE_BLOCKSIZE:
        return "block size out of range";
    case IPERF3_IE_BUFSIZE:
        return "socket buffer size out of range";
    case IPERF3_IE_MSS:
        return "MSS out of range";
    case IPERF3_IE_OMIT:
        return "omit value out of range";
    case IPERF3_IE_UNIMP:
        return "not implemented";
    case IPERF3_IE_BURST:
        return "burst count out of range";
    case IPERF3_IE_UDPBLOCKSIZE:
        return "UDP datagram size out of range";
    case IPERF3_IE_BADTOS:
        return "TOS value out of range";
    case IPERF3_IE_REVERSEBIDIR:
        return "reverse and bidirectional are exclusive";
    case IPERF3_IE_RECVCOOKIE:
        return "no cookie received";
    case IPERF3_IE_CTRLCLOSE:
        return "control connection closed";
    case IPERF3_IE_MESSAGE:
        return "unknown control message";
    case IPERF3_IE_RECVPARAMS:
        return "bad or missing test parameters";
    case IPERF3_IE_RECVRESULTS:
        return "bad or missing results";
    case IPERF3_IE_CLIENTTERM:
        return "the client terminated the test";
    case IPERF3_IE_SERVERTERM:
        return "the server terminated the test";
    case IPERF3_IE_ACCESSDENIED:
        return "the server is busy with another test";
    case IPERF3_IE_PROTOCOL:
        return "protocol not supported";
    case IPERF3_IE_NOMSG:
        return "no message within the timeout";
    case IPERF3_IE_CREATESTREAM:
        return "cannot create a stream";
    case IPERF3_IE_STREAMLISTEN:
        return "cannot open the stream listener";
    case IPERF3_IE_STREAMCONNECT:
        return "cannot connect a stream";
    case IPERF3_IE_STREAMACCEPT:
        return "streams did not arrive";
    case IPERF3_IE_STREAMREAD:
        return "stream read failed";
    case IPERF3_IE_STREAMID:
        return "results name an unknown stream";
    default:
        return "iperf3 error";
    }
}
