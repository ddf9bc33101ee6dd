/* SPDX-License-Identifier: MIT */
/* The iperf3 parameter JSON (cJSON, the control socket's library).
 *
 * The parser takes untrusted bytes from the network: every length is
 * checked before use, every value is type- and range-checked, and a failure
 * leaves nothing allocated. iperf3 3.12 looks keys up case-insensitively
 * and ignores keys it does not know; so do we.
 */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_params.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/arch.h"
#include "lwip/pbuf.h" /* PBUF_POOL_BUFSIZE may be defined with its header sizes */
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/udp.h"

#define TWO_POW_53 9007199254740992.0

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

/* ---- what this lwIP build carries ------------------------------------------- */

/* The largest UDP payload (iperf3 -l) of NFRAG fragments of FRAG bytes;
 * WHOLE when that is less than one unfragmented datagram. */
static uint32_t udp_len_of(unsigned nfrag, unsigned frag, unsigned whole)
{
    uint32_t n = nfrag >= 2 ? (uint32_t)nfrag * frag - UDP_HLEN : 0;

    n = LWIP_MAX(n, (uint32_t)whole);
    return LWIP_MIN(n, (uint32_t)IPERF3_UDP_MAX_LEN);
}

/* The largest UDP datagram (iperf3 -l) this lwIP build can send (SENDS)
 * or receive over a link of MTU bytes (576 or more), as lwIP's
 * ip4_frag()/ip4_reass() work: a sent fragment takes a MEMP_NUM_FRAG_PBUF
 * reference per pbuf it covers (the first covers iperf3's header pbuf and
 * the payload), a received one pbuf_clen() of IP_REASS_MAX_PBUFS (a frame
 * spans several pool pbufs when PBUF_POOL_BUFSIZE is smaller). LIMIT gets
 * the lwIP option that sets the figure. Pure: build constants only. */
uint32_t iperf3_params_udp_max_len(bool sends, unsigned mtu, struct iperf3_params_limit *limit)
{
    unsigned frag = (mtu - IP_HLEN) & ~7u;     /* IP payload of a fragment */
    unsigned whole = mtu - IP_HLEN - UDP_HLEN; /* no fragments */

    if (sends) {
#if !IP_FRAG
        *limit = (struct iperf3_params_limit){"IP_FRAG", 0};
        return whole;
#elif LWIP_NETIF_TX_SINGLE_PBUF
        *limit = (struct iperf3_params_limit){"LWIP_NETIF_TX_SINGLE_PBUF", 1};
        return IPERF3_UDP_MAX_LEN; /* fragments are copies from the heap */
#else
        *limit = (struct iperf3_params_limit){"MEMP_NUM_FRAG_PBUF", MEMP_NUM_FRAG_PBUF};
        return udp_len_of(MEMP_NUM_FRAG_PBUF - 1, frag, whole);
#endif
    }
#if !IP_REASSEMBLY
    *limit = (struct iperf3_params_limit){"IP_REASSEMBLY", 0};
    return whole;
#else
    unsigned per_frame = (mtu + SIZEOF_ETH_HDR + LWIP_MEM_ALIGN_SIZE(PBUF_POOL_BUFSIZE) - 1) /
                         LWIP_MEM_ALIGN_SIZE(PBUF_POOL_BUFSIZE);

    if (PBUF_POOL_SIZE < IP_REASS_MAX_PBUFS) {
        *limit = (struct iperf3_params_limit){"PBUF_POOL_SIZE", PBUF_POOL_SIZE};
        return udp_len_of(PBUF_POOL_SIZE / per_frame, frag, whole);
    }
    *limit = (struct iperf3_params_limit){"IP_REASS_MAX_PBUFS", IP_REASS_MAX_PBUFS};
    return udp_len_of(IP_REASS_MAX_PBUFS / per_frame, frag, whole);
#endif
}

/* The MEMP_NUM_FRAG_PBUF references lwIP's ip4_frag() takes at once for
 * one iperf3 UDP datagram of LEN bytes over a link of MTU bytes: one per
 * fragment and one more (the first fragment covers iperf3's header pbuf
 * and the payload); 0 when it goes out whole. */
unsigned iperf3_params_udp_frag_refs(uint32_t len, unsigned mtu)
{
    unsigned frag = (mtu - IP_HLEN) & ~7u;

    if (len + UDP_HLEN + IP_HLEN <= mtu)
        return 0;
    return (unsigned)((len + UDP_HLEN + frag - 1) / frag) + 1;
}

/* Refuse a UDP test P whose datagrams this lwIP build cannot carry over a
 * link of MTU bytes, either way the test sends them (the server's view:
 * it receives unless reverse, sends when reverse or bidir). 0 when it can
 * (and for TCP); else -EMSGSIZE, ERR saying which lwIP option to raise
 * and P->ierr IEUDPBLOCKSIZE, as for any -l out of range. */
int iperf3_params_check_udp_len(struct iperf3_params *p, unsigned mtu, char *err, size_t errlen)
{
    for (int sends = 0; p->udp && sends <= 1; sends++) {
        struct iperf3_params_limit lim;
        uint32_t max;

        if (sends ? !(p->reverse || p->bidir) : p->reverse)
            continue;
        max = iperf3_params_udp_max_len(sends, mtu, &lim);
        if (p->len > max) {
            p->ierr = IPERF3_IE_UDPBLOCKSIZE;
            return ERR(-EMSGSIZE,
                       "UDP datagrams of %u bytes: this lwIP %s at most %u over MTU %u "
                       "(%s %ld)",
                       p->len, sends ? "sends" : "receives", max, mtu, lim.option, lim.value);
        }
    }
    return 0;
}

/* How many data connections the test has: parallel, twice that for bidir. */
unsigned iperf3_params_streams(const struct iperf3_params *p)
{
    return p->parallel * (p->bidir ? 2u : 1u);
}

/* Does the server send on the INDEX-th data connection (0-based, in the
 * order the client connects them: its -P senders first under --bidir)? */
bool iperf3_params_server_sends(const struct iperf3_params *p, unsigned index)
{
    return p->reverse || (p->bidir && index >= p->parallel);
}
