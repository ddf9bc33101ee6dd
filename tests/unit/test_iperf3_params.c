/* SPDX-License-Identifier: MIT */
/* Unit tests for the iperf3 wire protocol modules (apps/iperf3/
 * iperf3_proto, iperf3_params, iperf3_results): the parameter JSON a
 * stock 3.12 client sends (taken from captures) parses to the right
 * values; malformed, oversize and out-of-range parameters are refused with
 * the right iperf3 error code; results JSON, framing, the UDP header and
 * the loss/jitter accounting behave as iperf3's do; random input never
 * crashes the parsers (the sanitizer build runs this too). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apps/iperf3/iperf3_params.h"
#include "apps/iperf3/iperf3_proto.h"
#include "apps/iperf3/iperf3_results.h"

static int parse(const char *json, struct iperf3_params *p)
{
    char err[160] = "";
    int r = iperf3_params_parse(json, strlen(json), p, err, sizeof(err));

    if (r)
        assert_true(err[0] != '\0'); /* every refusal says why */
    return r;
}

static void expect_refused(const char *json, int rc, int ierr)
{
    struct iperf3_params p;
    int r = parse(json, &p);

    if (r != rc || p.ierr != ierr)
        fail_msg("'%s': got %d/ierr %d, expected %d/ierr %d", json, r, p.ierr, rc, ierr);
}

static void test_captured_312_params(void **state)
{
    struct iperf3_params p;

    (void)state;
    assert_int_equal(parse("{\"tcp\":true,\"omit\":0,\"time\":1,\"num\":0,\"blockcount\":0,"
                           "\"parallel\":1,\"len\":131072,\"pacing_timer\":1000,"
                           "\"client_version\":\"3.12\"}",
                           &p),
                     0);
    assert_false(p.udp);
    assert_int_equal(p.time, 1);
    assert_int_equal(p.parallel, 1);
    assert_int_equal(p.len, 131072);
    assert_int_equal(p.pacing_timer, 1000);
    assert_string_equal(p.client_version, "3.12");
    assert_false(p.reverse || p.bidir || p.nodelay || p.get_server_output);
    assert_int_equal(p.ierr, 0);

    assert_int_equal(parse("{\"tcp\":true,\"omit\":0,\"time\":5,\"num\":0,\"blockcount\":0,"
                           "\"parallel\":2,\"bidirectional\":true,\"len\":131072,"
                           "\"pacing_timer\":1000,\"client_version\":\"3.12\"}",
                           &p),
                     0);
    assert_true(p.bidir);
    assert_false(p.reverse);
    assert_int_equal(iperf3_params_streams(&p), 4);

    assert_int_equal(parse("{\"udp\":true,\"omit\":0,\"time\":1,\"num\":0,\"blockcount\":0,"
                           "\"parallel\":1,\"reverse\":true,\"len\":32768,"
                           "\"bandwidth\":10000000,\"pacing_timer\":1000,"
                           "\"udp_counters_64bit\":1,\"get_server_output\":1,"
                           "\"client_version\":\"3.12\"}",
                           &p),
                     0);
    assert_true(p.udp && p.reverse && p.udp_counters_64bit && p.get_server_output);
    assert_int_equal(p.len, 32768);
    assert_int_equal(p.bandwidth, 10000000);
    assert_int_equal(iperf3_params_streams(&p), 1);

    assert_int_equal(parse("{\"tcp\":true,\"omit\":0,\"time\":0,\"num\":10485760,"
                           "\"blockcount\":0,\"parallel\":1,\"len\":131072,"
                           "\"pacing_timer\":1000,\"client_version\":\"3.12\"}",
                           &p),
                     0);
    assert_int_equal(p.time, 0);
    assert_int_equal(p.num, 10485760);

    /* -N -w 64K -l 1400 -C reno --title --extra-data, plus keys newer
     * clients send: all accepted, the unknown ones ignored. */
    assert_int_equal(parse("{\"tcp\":true,\"omit\":2,\"time\":3,\"num\":0,\"blockcount\":1000,"
                           "\"MSS\":1000,\"nodelay\":true,\"parallel\":128,\"window\":65536,"
                           "\"len\":1400,\"pacing_timer\":1000,\"TOS\":16,\"title\":\"hello\","
                           "\"extra_data\":\"xyz\",\"congestion\":\"reno\",\"repeating_payload\":1,"
                           "\"zerocopy\":1,\"dont_fragment\":1,\"authtoken\":\"abc\","
                           "\"gso\":1,\"mptcp\":true,\"client_version\":\"3.21\"}",
                           &p),
                     0);
    assert_true(p.nodelay && p.repeating_payload);
    assert_int_equal(p.omit, 2);
    assert_int_equal(p.blockcount, 1000);
    assert_int_equal(p.mss, 1000);
    assert_int_equal(p.window, 65536);
    assert_int_equal(p.len, 1400);
    assert_int_equal(p.tos, 16);
    assert_int_equal(p.parallel, 128);
}

static void test_defaults_and_lenient_types(void **state)
{
    struct iperf3_params p;

    (void)state;
    /* Only the protocol: iperf3's defaults for the rest; UDP gets a
     * datagram-sized len, not the TCP block size. */
    assert_int_equal(parse("{\"tcp\":true}", &p), 0);
    assert_int_equal(p.time, 10);
    assert_int_equal(p.parallel, 1);
    assert_int_equal(p.len, IPERF3_TCP_DEFAULT_LEN);
    assert_int_equal(parse("{\"udp\":true}", &p), 0);
    assert_true(p.udp);
    assert_int_equal(p.len, IPERF3_UDP_DEFAULT_LEN);
    assert_int_equal(parse("{}", &p), 0); /* TCP when nothing says otherwise */
    assert_false(p.udp);
    /* NXP's client: "tcp":1 and "udp":"true" */
    assert_int_equal(parse("{\"udp\":\"true\",\"time\":10}", &p), 0);
    assert_true(p.udp);
    assert_int_equal(parse("{\"tcp\":1,\"time\":10}", &p), 0);
    assert_false(p.udp);
    /* false means false here (3.12 would take any present key as on) */
    assert_int_equal(parse("{\"tcp\":true,\"reverse\":false,\"nodelay\":0}", &p), 0);
    assert_false(p.reverse || p.nodelay);
    /* key look-up is case-insensitive, as iperf3's cJSON_GetObjectItem */
    assert_int_equal(parse("{\"TCP\":true,\"Reverse\":true,\"mss\":536}", &p), 0);
    assert_true(p.reverse);
    assert_int_equal(p.mss, 536);
    /* whitespace anywhere, also trailing */
    assert_int_equal(parse(" {\n\"tcp\" : true ,\t\"parallel\" : 3 }\r\n", &p), 0);
    assert_int_equal(p.parallel, 3);
    /* client_version: printable characters only, truncated */
    assert_int_equal(parse("{\"client_version\":\"3.12 \\u0001\\n<x>-very-long-version\"}", &p), 0);
    assert_string_equal(p.client_version, "3.12<x>-very-lo");
}

static void test_malformed_refused(void **state)
{
    struct iperf3_params p;
    char big[IPERF3_PARAMS_MAX + 2];

    (void)state;
    expect_refused("", -EMSGSIZE, IPERF3_IE_RECVPARAMS);
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    expect_refused(big, -EMSGSIZE, IPERF3_IE_RECVPARAMS); /* 8193 bytes */
    big[sizeof(big) - 3] = '}';
    big[sizeof(big) - 2] = '\0';
    assert_int_equal(parse(big, &p), 0); /* 8192 bytes is fine */
    expect_refused("{", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"tcp\":true", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"tcp\":true} {}", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"tcp\":true}x", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("[1,2]", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("\"tcp\"", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("42", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("null", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("\xff\xfe\x00garbage", -EINVAL, IPERF3_IE_RECVPARAMS);
    /* a NUL inside the announced length ends the JSON early: refused */
    assert_int_equal(iperf3_params_parse("{\"tcp\":true}\0{}", 15, &p, big, 100), -EINVAL);
    /* nesting far deeper than any parameter needs */
    {
        char deep[4001];
        for (int i = 0; i < 2000; i++) {
            deep[i] = '[';
            deep[2000 + i] = ']';
        }
        deep[4000] = '\0';
        assert_int_not_equal(parse(deep, &p), 0);
    }
}

static void test_values_checked(void **state)
{
    (void)state;
    expect_refused("{\"parallel\":0}", -ERANGE, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"parallel\":129}", -ERANGE, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"parallel\":-1}", -ERANGE, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"parallel\":1.5}", -ERANGE, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"parallel\":\"4\"}", -EINVAL, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"parallel\":true}", -EINVAL, IPERF3_IE_NUMSTREAMS);
    expect_refused("{\"omit\":601}", -ERANGE, IPERF3_IE_OMIT);
    expect_refused("{\"time\":86401}", -ERANGE, IPERF3_IE_DURATION);
    expect_refused("{\"time\":1e999}", -ERANGE, IPERF3_IE_DURATION);
    expect_refused("{\"time\":-1e999}", -ERANGE, IPERF3_IE_DURATION);
    expect_refused("{\"num\":-5}", -ERANGE, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"num\":1e300}", -ERANGE, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"bandwidth\":-1}", -ERANGE, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"burst\":1001}", -ERANGE, IPERF3_IE_BURST);
    expect_refused("{\"TOS\":256}", -ERANGE, IPERF3_IE_BADTOS);
    expect_refused("{\"window\":-65536}", -ERANGE, IPERF3_IE_BUFSIZE);
    expect_refused("{\"MSS\":65536}", -ERANGE, IPERF3_IE_MSS);
    expect_refused("{\"tcp\":true,\"len\":0}", -ERANGE, IPERF3_IE_BLOCKSIZE);
    expect_refused("{\"tcp\":true,\"len\":1048577}", -ERANGE, IPERF3_IE_BLOCKSIZE);
    expect_refused("{\"udp\":true,\"len\":15}", -ERANGE, IPERF3_IE_UDPBLOCKSIZE);
    expect_refused("{\"udp\":true,\"len\":65508}", -ERANGE, IPERF3_IE_UDPBLOCKSIZE);
    expect_refused("{\"sctp\":true}", -EPROTONOSUPPORT, IPERF3_IE_PROTOCOL);
    expect_refused("{\"tcp\":true,\"udp\":true}", -EINVAL, IPERF3_IE_PROTOCOL);
    expect_refused("{\"tcp\":[1]}", -EINVAL, IPERF3_IE_PROTOCOL);
    expect_refused("{\"reverse\":true,\"bidirectional\":true}", -EINVAL, IPERF3_IE_REVERSEBIDIR);
    expect_refused("{\"reverse\":{}}", -EINVAL, IPERF3_IE_RECVPARAMS);
    expect_refused("{\"get_server_output\":\"yes\"}", -EINVAL, IPERF3_IE_RECVPARAMS);
}

static void test_format_is_what_312_sends(void **state)
{
    struct iperf3_params p, q;
    char *s;

    (void)state;
    iperf3_params_defaults(&p);
    p.time = 1;
    s = iperf3_params_format(&p);
    /* byte for byte the capture of `iperf3 -c H -t 1` */
    assert_string_equal(s, "{\"tcp\":true,\"omit\":0,\"time\":1,\"num\":0,\"blockcount\":0,"
                           "\"parallel\":1,\"len\":131072,\"pacing_timer\":1000,"
                           "\"client_version\":\"3.12\"}");
    free(s);
    iperf3_params_defaults(&p);
    p.udp = p.reverse = p.udp_counters_64bit = p.get_server_output = p.nodelay = true;
    p.len = 1460;
    p.bandwidth = 10000000000ull; /* beyond int: printed without exponent */
    p.num = 1ull << 40;
    p.parallel = 4;
    p.tos = 8;
    s = iperf3_params_format(&p);
    assert_non_null(strstr(s, "\"bandwidth\":10000000000,"));
    assert_non_null(strstr(s, "\"num\":1099511627776,"));
    assert_non_null(strstr(s, "\"get_server_output\":1,\"udp_counters_64bit\":1,"));
    assert_null(strstr(s, "false"));
    assert_null(strstr(s, "bidirectional"));
    assert_int_equal(iperf3_params_parse(s, strlen(s), &q, NULL, 0), 0);
    free(s);
    assert_true(q.udp && q.reverse && q.udp_counters_64bit && q.get_server_output && q.nodelay);
    assert_int_equal(q.len, 1460);
    assert_int_equal(q.bandwidth, 10000000000ull);
    assert_int_equal(q.num, 1ull << 40);
    assert_int_equal(q.parallel, 4);
    assert_int_equal(q.tos, 8);
}

static void test_results_roundtrip_and_312_quirks(void **state)
{
    struct iperf3_results_stream sr[2] = {
        {.id = 1, .bytes = 1735393280, .retransmits = -1, .end_time = 1.004597},
        {.id = 3,
         .bytes = 5ull << 32,
         .retransmits = 7,
         .jitter = 0.00038,
         .errors = 2,
         .packets = 39,
         .end_time = -1},
    };
    struct iperf3_results r = {.cpu_total = 39.65,
                               .sender_has_retransmits = 0,
                               .nstreams = 2,
                               .streams = sr,
                               .server_output_text = "line 1\nline 2\n"};
    struct iperf3_results out;
    char err[160];
    char *s = iperf3_results_format(&r);

    (void)state;
    assert_int_equal(iperf3_results_parse(s, strlen(s), &out, err, sizeof(err)), 0);
    free(s);
    assert_int_equal(out.nstreams, 2);
    assert_int_equal(out.sender_has_retransmits, 0);
    assert_int_equal(out.streams[0].id, 1);
    assert_int_equal(out.streams[0].bytes, 1735393280);
    assert_int_equal(out.streams[0].retransmits, -1);
    assert_true(out.streams[0].end_time > 1.0045 && out.streams[0].end_time < 1.0047);
    assert_int_equal(out.streams[1].bytes, 5ull << 32);
    assert_int_equal(out.streams[1].errors, 2);
    assert_int_equal(out.streams[1].packets, 39);
    assert_true(out.streams[1].end_time < 0); /* absent */
    assert_string_equal(out.server_output_text, "line 1\nline 2\n");
    iperf3_results_free(&out);

    /* A real 3.12 server's results: -1 printed as 2^64-1. */
    static const char real[] =
        "{\"cpu_util_total\":39.65,\"cpu_util_user\":2.59,\"cpu_util_system\":37.05,"
        "\"sender_has_retransmits\":18446744073709551615,\"congestion_used\":\"bbr\","
        "\"streams\":[{\"id\":1,\"bytes\":1735393280,\"retransmits\":18446744073709551615,"
        "\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":0,\"end_time\":1.004597}]}";
    assert_int_equal(iperf3_results_parse(real, strlen(real), &out, err, sizeof(err)), 0);
    assert_int_equal(out.sender_has_retransmits, -1);
    assert_int_equal(out.streams[0].retransmits, -1);
    assert_null(out.server_output_text);
    iperf3_results_free(&out);

    /* server_output_json (a stock server run with -J) becomes text */
    static const char js[] = "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
                             "\"sender_has_retransmits\":-1,\"streams\":[],"
                             "\"server_output_json\":{\"a\":1}}";
    assert_int_equal(iperf3_results_parse(js, strlen(js), &out, err, sizeof(err)), 0);
    assert_string_equal(out.server_output_text, "{\"a\":1}");
    iperf3_results_free(&out);

    /* required keys */
    static const char *const bad[] = {
        "{\"cpu_util_user\":0,\"cpu_util_system\":0,\"sender_has_retransmits\":0,\"streams\":[]}",
        "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0}",
        "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0,\"streams\":{}}",
        "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0,\"streams\":[{\"id\":1,\"bytes\":1}]}",
        "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0,\"streams\":[{\"id\":0,\"bytes\":1,\"retransmits\":0,"
        "\"jitter\":0,\"errors\":0,\"packets\":0}]}",
        "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0,\"streams\":[{\"id\":1,\"bytes\":-1,\"retransmits\":0,"
        "\"jitter\":0,\"errors\":0,\"packets\":0}]}",
        "{\"cpu_util_total\":\"0\",\"cpu_util_user\":0,\"cpu_util_system\":0,"
        "\"sender_has_retransmits\":0,\"streams\":[]}",
        "[]",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out.nstreams = 99;
        if (iperf3_results_parse(bad[i], strlen(bad[i]), &out, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_null(out.streams); /* nothing left allocated */
        assert_int_equal(out.nstreams, 0);
    }
}

static void test_framing_ids_cookie(void **state)
{
    uint8_t b[8] = {0, 0, 0, 0x7b};
    size_t n;
    char cookie[IPERF3_COOKIE_SIZE];
    uint8_t rnd[36];

    (void)state;
    assert_int_equal(iperf3_proto_frame_check(b, 3, 8192, &n), -EAGAIN);
    assert_int_equal(iperf3_proto_frame_check(b, 8, 8192, &n), -EAGAIN); /* 123 announced, 4 here */
    assert_int_equal(n, 123);
    iperf3_proto_put_be32(b, 4);
    assert_int_equal(iperf3_proto_frame_check(b, 8, 8192, &n), 0);
    iperf3_proto_put_be32(b, 0);
    assert_int_equal(iperf3_proto_frame_check(b, 8, 8192, &n), -EMSGSIZE);
    iperf3_proto_put_be32(b, 0xffffffffu);
    assert_int_equal(iperf3_proto_frame_check(b, 4, 8192, &n), -EMSGSIZE);
    iperf3_proto_put_be32(b, 8193);
    assert_int_equal(iperf3_proto_frame_check(b, 4, 8192, &n), -EMSGSIZE);
    assert_int_equal(iperf3_proto_get_be32((const uint8_t *)"\x01\x02\x03\x04"), 0x01020304);

    assert_int_equal(iperf3_proto_stream_id(0), 1);
    assert_int_equal(iperf3_proto_stream_id(1), 3);
    assert_int_equal(iperf3_proto_stream_id(2), 4);
    assert_int_equal(iperf3_proto_stream_id(127), 129);

    for (int i = 0; i < 36; i++)
        rnd[i] = (uint8_t)(i * 37 + 5);
    iperf3_proto_make_cookie(cookie, rnd);
    assert_int_equal(cookie[36], '\0');
    assert_int_equal(strlen(cookie), 36);
    assert_int_equal(strspn(cookie, "abcdefghijklmnopqrstuvwxyz234567"), 36);
}

static void test_udp_header_and_accounting(void **state)
{
    uint8_t h[16];
    double sent;
    uint64_t seq;
    struct iperf3_proto_udp_rx rx = {0};

    (void)state;
    assert_int_equal(iperf3_proto_udp_hdr_put(h, 402000123ull, 7, false), 12);
    assert_memory_equal(h, "\x00\x00\x01\x92\x00\x00\x00\x7b\x00\x00\x00\x07", 12);
    assert_int_equal(iperf3_proto_udp_hdr_get(h, 12, false, &sent, &seq), 0);
    assert_int_equal(seq, 7);
    assert_true(sent > 402.000122 && sent < 402.000124);
    assert_int_equal(iperf3_proto_udp_hdr_get(h, 11, false, &sent, &seq), -EINVAL);
    assert_int_equal(iperf3_proto_udp_hdr_put(h, 0, 0x0102030405060708ull, true), 16);
    assert_memory_equal(h + 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(iperf3_proto_udp_hdr_get(h, 16, true, &sent, &seq), 0);
    assert_int_equal(seq, 0x0102030405060708ull);
    assert_int_equal(iperf3_proto_udp_hdr_get(h, 15, true, &sent, &seq), -EINVAL);

    /* 1, 2, 5 (3 and 4 lost), 3 (late: one loss taken back), 6 */
    iperf3_proto_udp_rx_count(&rx, 1, 0.010);
    iperf3_proto_udp_rx_count(&rx, 2, 0.010);
    assert_true(rx.jitter == 0.0);
    iperf3_proto_udp_rx_count(&rx, 5, 0.026);
    assert_int_equal(rx.errors, 2);
    assert_int_equal(rx.max_seq, 5);
    assert_true(rx.jitter > 0.000999 && rx.jitter < 0.001001); /* 16 ms / 16 */
    iperf3_proto_udp_rx_count(&rx, 3, 0.026);
    assert_int_equal(rx.errors, 1);
    assert_int_equal(rx.out_of_order, 1);
    iperf3_proto_udp_rx_count(&rx, 6, 0.026);
    assert_int_equal(rx.max_seq, 6);
    assert_int_equal(rx.errors, 1);
}

/* Deterministic fuzzing: random bytes, and valid parameters with bytes
 * flipped, cut or inserted. Nothing may crash or leak (ASan build), and
 * whatever is accepted must be within the documented limits. */
static void test_random_input_never_crashes(void **state)
{
    static const char base[] =
        "{\"udp\":true,\"omit\":1,\"time\":2,\"num\":0,\"blockcount\":0,\"parallel\":4,"
        "\"bidirectional\":true,\"len\":1400,\"bandwidth\":1000000,\"pacing_timer\":1000,"
        "\"udp_counters_64bit\":1,\"client_version\":\"3.12\"}";
    uint32_t x = 12345;
    char buf[512], err[160];
    unsigned accepted = 0;

    (void)state;
    for (int i = 0; i < 30000; i++) {
        size_t len = sizeof(base) - 1;
        struct iperf3_params p;
        struct iperf3_results r;

        memcpy(buf, base, len);
        for (int k = 0; k < 1 + i % 6 && len > 0; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % len;
            switch ((x >> 4) % 4) {
            case 0:
                buf[at] = (char)(x >> 16);
                break;
            case 1:
                len = at;
                break;
            case 2:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = "{}[]\":,0123456789-.etrufalsn "[(x >> 20) % 30];
                    len++;
                }
                break;
            default:
                buf[at] = "0123456789-e."[(x >> 16) % 13];
                break;
            }
        }
        if (iperf3_params_parse(buf, len, &p, err, sizeof(err)) == 0) {
            accepted++;
            assert_true(p.parallel >= 1 && p.parallel <= IPERF3_MAX_PARALLEL);
            assert_true(p.omit <= IPERF3_MAX_OMIT && p.time <= IPERF3_MAX_TIME);
            assert_true(p.udp ? p.len >= IPERF3_UDP_MIN_LEN && p.len <= IPERF3_UDP_MAX_LEN
                              : p.len >= 1 && p.len <= IPERF3_TCP_MAX_LEN);
            assert_false(p.reverse && p.bidir);
        }
        if (iperf3_results_parse(buf, len, &r, err, sizeof(err)) == 0)
            iperf3_results_free(&r);
    }
    /* the mutations must not be so wild that nothing is ever accepted */
    assert_true(accepted > 100);
}

/* A UDP -l is checked against the lwIP build, each way the test sends:
 * the largest length passes, one byte more is refused with
 * IEUDPBLOCKSIZE and a message naming the lwIP option. */
static void test_udp_len_against_build(void **state)
{
    static const unsigned mtus[] = {576, 1500, 9000};
    char err[160];

    (void)state;
    for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
        for (int sends = 0; sends <= 1; sends++) {
            struct iperf3_params_limit lim;
            uint32_t max = iperf3_params_udp_max_len(sends, mtus[m], &lim);
            struct iperf3_params p;

            assert_true(max >= mtus[m] - 28 && max <= IPERF3_UDP_MAX_LEN);
            assert_non_null(lim.option);
            iperf3_params_defaults(&p);
            p.udp = true;
            p.reverse = sends;
            p.len = max;
            assert_int_equal(iperf3_params_check_udp_len(&p, mtus[m], err, sizeof(err)), 0);
            if (max == IPERF3_UDP_MAX_LEN)
                continue;
            p.len = max + 1;
            err[0] = '\0';
            assert_int_equal(iperf3_params_check_udp_len(&p, mtus[m], err, sizeof(err)), -EMSGSIZE);
            assert_int_equal(p.ierr, IPERF3_IE_UDPBLOCKSIZE);
            assert_non_null(strstr(err, lim.option));
            p.bidir = true; /* both ways: refused as well */
            p.reverse = false;
            assert_int_equal(iperf3_params_check_udp_len(&p, mtus[m], err, sizeof(err)), -EMSGSIZE);
            p.udp = false; /* TCP: never */
            assert_int_equal(iperf3_params_check_udp_len(&p, mtus[m], err, sizeof(err)), 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_312_params),
        cmocka_unit_test(test_defaults_and_lenient_types),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_values_checked),
        cmocka_unit_test(test_format_is_what_312_sends),
        cmocka_unit_test(test_results_roundtrip_and_312_quirks),
        cmocka_unit_test(test_framing_ids_cookie),
        cmocka_unit_test(test_udp_header_and_accounting),
        cmocka_unit_test(test_random_input_never_crashes),
        cmocka_unit_test(test_udp_len_against_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
