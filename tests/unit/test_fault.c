/* SPDX-License-Identifier: MIT */
/* Unit tests for fault_inject/: rule parsing (accepted and refused, with the
 * reason), PRNG determinism, Gilbert-Elliott loss statistics, the rate
 * shaper, the injector's decisions on synthetic frames, and link flap
 * schedules (parsing, the drawn durations, the flapper on a real loop). */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "capture/events.h"
#include "fault_inject/fault.h"
#include "fault_inject/link.h"
#include "fault_inject/prng.h"
#include "fault_inject/rule.h"

static void parse_ok(const char *text, enum fault_dir dir, enum fault_action action,
                     struct fault_rule *r)
{
    char err[256] = "";

    if (fault_rule_parse(text, r, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", text, err);
    assert_int_equal(r->dir, dir);
    assert_int_equal(r->action, action);
}

static void test_rules_accepted(void **state)
{
    struct fault_rule r;

    (void)state;
    parse_ok("tx drop 30% \"arp\"", FAULT_TX, FA_DROP, &r);
    assert_true(fabs(r.p - 0.30) < 1e-9);
    assert_string_equal(r.filter, "arp");
    assert_true(r.has_prog);
    assert_string_equal(r.text, "tx drop 30% \"arp\"");
    fault_rule_release(&r);

    parse_ok("rx drop every 7", FAULT_RX, FA_DROP_EVERY, &r);
    assert_int_equal(r.n, 7);
    assert_false(r.has_prog);
    parse_ok("rx drop gilbert 1% 20%", FAULT_RX, FA_DROP_GILBERT, &r);
    assert_true(fabs(r.ge_p - 0.01) < 1e-9 && fabs(r.ge_r - 0.2) < 1e-9);
    assert_true(r.ge_k == 0 && r.ge_h == 1);
    parse_ok("rx drop gilbert 1% 20% 0.5% 80%", FAULT_RX, FA_DROP_GILBERT, &r);
    assert_true(fabs(r.ge_k - 0.005) < 1e-9 && fabs(r.ge_h - 0.8) < 1e-9);
    parse_ok("tx corrupt 2% bits 3", FAULT_TX, FA_CORRUPT_BITS, &r);
    assert_int_equal(r.n, 3);
    parse_ok("rx corrupt 100% bytes 14-60 'tcp'", FAULT_RX, FA_CORRUPT_BYTES, &r);
    assert_int_equal(r.lo, 14);
    assert_int_equal(r.hi, 60);
    fault_rule_release(&r);
    parse_ok("rx truncate 10% 60", FAULT_RX, FA_TRUNCATE, &r);
    assert_int_equal(r.n, 60);
    parse_ok("tx delay 50ms 10ms", FAULT_TX, FA_DELAY, &r);
    assert_int_equal(r.t_ns, 50000000);
    assert_int_equal(r.jitter_ns, 10000000);
    parse_ok("rx delay 200us 25%", FAULT_RX, FA_DELAY, &r);
    assert_int_equal(r.t_ns, 200000);
    assert_true(fabs(r.p - 0.25) < 1e-9);
    parse_ok("tx reorder 5% 3", FAULT_TX, FA_REORDER, &r);
    assert_int_equal(r.n, 3);
    parse_ok("rx rate 10mbit", FAULT_RX, FA_RATE, &r);
    assert_int_equal(r.rate_bps, 10000000);
    parse_ok("irq late 300us 30%", FAULT_IRQ, FA_IRQ_LATE, &r);
    parse_ok("irq lost 1%", FAULT_IRQ, FA_IRQ_LOST, &r);
    parse_ok("irq spurious 2ms", FAULT_IRQ, FA_IRQ_SPURIOUS, &r);
    assert_int_equal(r.t_ns, 2000000);
}

static void refused(const char *text, const char *why)
{
    struct fault_rule r;
    char err[256] = "";

    if (fault_rule_parse(text, &r, err, sizeof(err)) == 0)
        fail_msg("'%s' was accepted", text);
    if (!strstr(err, why))
        fail_msg("'%s': '%s' does not say '%s'", text, err, why);
}

static void test_rules_refused(void **state)
{
    (void)state;
    refused("", "DIRECTION ACTION");
    refused("tx", "DIRECTION ACTION");
    refused("up drop 5%", "unknown direction 'up'");
    refused("tx dorp 5%", "unknown action 'dorp'");
    refused("tx drop 105%", "between 0% and 100%");
    refused("tx drop -1%", "between 0% and 100%");
    refused("tx drop 5", "between 0% and 100%");
    refused("tx drop every 0", "count of at least 1");
    refused("rx drop 5% \"tcp and\"", "bad filter");
    refused("rx drop 5% \"arp", "unterminated quote");
    refused("rx drop 5% \"arp\" x", "nothing may follow");
    refused("rx drop 5% arp", "quote it");
    refused("rx corrupt 5% bytes 60-14", "byte range");
    refused("rx delay 20s", "up to 10s");
    refused("rx delay 10ms 20ms", "jitter");
    refused("rx rate 10parsecs", "not a rate");
    refused("irq late", "needs a time");
    refused("irq spurious 1us", "at least 10us");
    refused("irq lost 5% \"arp\"", "no filter");
    /* found by tests/fuzz/fuzz_fault_rule: NaN reached a float-to-integer cast */
    refused("rx delay nans", "");
    refused("rx delay nan", "");
    refused("tx drop nan%", "between 0% and 100%");
    refused("rx rate nanmbit", "");
}

static void test_prng_streams(void **state)
{
    struct prng a, b, c;
    int same = 0;

    (void)state;
    prng_seed(&a, 42, PRNG_STREAM_RX);
    prng_seed(&b, 42, PRNG_STREAM_RX);
    prng_seed(&c, 42, PRNG_STREAM_TX);
    for (int i = 0; i < 10000; i++) {
        uint64_t x = prng_next(&a);
        assert_true(x == prng_next(&b)); /* same seed, same stream: same numbers */
        same += x == prng_next(&c);
    }
    assert_int_equal(same, 0); /* streams differ */
    for (int i = 0; i < 100000; i++) {
        uint32_t v = prng_below(&a, 7);
        double u = prng_unit(&a);
        assert_true(v < 7);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

static uint8_t frame_buf[64];

static enum fault_verdict rx_one(struct fault *f, uint64_t no)
{
    struct iovec iov = {frame_buf, sizeof(frame_buf)};
    size_t len = sizeof(frame_buf);

    return fault_rx(f, &iov, 1, &len, no, 0);
}

static void test_gilbert_elliott_loss_rate(void **state)
{
    /* good->bad 2%, bad->good 25%, all lost in bad, none in good: the
     * long-run loss is P/(P+R) = 0.02/0.27 = 7.4 %, in bursts of mean 1/R. */
    char err[256];
    struct fault *f = fault_new(7);
    unsigned drops = 0, bursts = 0, run = 0;
    const unsigned n = 200000;

    (void)state;
    assert_true(fault_add(f, "rx drop gilbert 2% 25%", err, sizeof(err)) > 0);
    for (unsigned i = 0; i < n; i++) {
        if (rx_one(f, i) == FAULT_DROP) {
            drops++;
            if (run++ == 0)
                bursts++;
        } else {
            run = 0;
        }
    }
    double rate = (double)drops / n, mean_burst = (double)drops / bursts;
    assert_true(rate > 0.065 && rate < 0.083);
    assert_true(mean_burst > 3.5 && mean_burst < 4.5); /* 1 / 0.25 */
    fault_free(f);
}

static void test_drop_every_and_determinism(void **state)
{
    char err[256];
    enum fault_verdict v1[3000], v2[3000];

    (void)state;
    for (int run = 0; run < 2; run++) {
        struct fault *f = fault_new(123456);
        assert_true(fault_add(f, "rx drop every 4", err, sizeof(err)) > 0);
        assert_true(fault_add(f, "rx drop 20%", err, sizeof(err)) > 0);
        for (int i = 0; i < 3000; i++)
            (run ? v2 : v1)[i] = rx_one(f, (uint64_t)i);
        fault_free(f);
    }
    assert_memory_equal(v1, v2, sizeof(v1));
    /* "every 4" always hits the 4th matching frame... */
    unsigned drops = 0;
    for (int i = 3; i < 3000; i += 4)
        assert_int_equal(v1[i], FAULT_DROP);
    for (int i = 0; i < 3000; i++)
        drops += v1[i] == FAULT_DROP;
    /* ...and the 20 % rule drops about a fifth of the others (those that
     * reached it: 3/4 of them). */
    double other = (double)(drops - 750) / 2250;
    assert_true(other > 0.16 && other < 0.24);
}

static void test_corrupt_and_truncate_in_place(void **state)
{
    char err[256];
    struct fault *f = fault_new(1);
    uint8_t orig[64];
    struct iovec iov = {frame_buf, sizeof(frame_buf)};
    size_t len = sizeof(frame_buf);
    int diff = 0;

    (void)state;
    memset(frame_buf, 0x55, sizeof(frame_buf));
    memcpy(orig, frame_buf, sizeof(orig));
    assert_true(fault_add(f, "rx corrupt 100% bits 5", err, sizeof(err)) > 0);
    assert_true(fault_add(f, "rx truncate 100% 40", err, sizeof(err)) > 0);
    assert_int_equal(fault_rx(f, &iov, 1, &len, 1, 0), FAULT_PASS);
    assert_int_equal(len, 40);
    for (int i = 0; i < 64; i++)
        diff += __builtin_popcount(orig[i] ^ frame_buf[i]);
    assert_true(diff >= 1 && diff <= 5); /* 5 flips, maybe the same bit twice */
    fault_free(f);
}

struct out {
    int n;
    uint64_t first_ns, last_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void delivered(void *arg, const uint8_t *data, size_t len)
{
    struct out *o = arg;

    (void)data, (void)len;
    if (o->n++ == 0)
        o->first_ns = mono_ns();
    o->last_ns = mono_ns();
}

static void test_rate_shaper_paces_frames(void **state)
{
    /* 1 Mbit/s, 1000-byte frames: 8 ms each. 20 frames sent at once leave
     * over ~160 ms (less the burst allowance), none dropped (the shaper
     * queues up to 200 ms). */
    char err[256];
    struct fault *f = fault_new(1);
    struct out o = {0, 0, 0};
    struct fault_io io = {delivered, NULL, &o};
    static uint8_t big[1000];
    int passed = 0;

    (void)state;
    fault_set_io(f, &io);
    assert_true(fault_add(f, "rx rate 1mbit", err, sizeof(err)) > 0);
    uint64_t t0 = mono_ns();
    for (int i = 0; i < 20; i++) {
        struct iovec iov = {big, sizeof(big)};
        size_t len = sizeof(big);
        enum fault_verdict v = fault_rx(f, &iov, 1, &len, (uint64_t)i, 0);
        assert_int_not_equal(v, FAULT_DROP);
        passed += v == FAULT_PASS;
    }
    for (int i = 0; i < 200 && o.n + passed < 20; i++)
        usleep(10000); /* bounded: 2 s */
    assert_int_equal(o.n + passed, 20);
    double span_ms = (double)(o.last_ns - t0) / 1e6;
    assert_true(span_ms > 100 && span_ms < 400);
    fault_free(f);
}

static void test_rate_shaper_drops_beyond_its_queue(void **state)
{
    char err[256];
    struct fault *f = fault_new(1);
    static uint8_t big[1500];
    int dropped = 0;

    (void)state;
    assert_true(fault_add(f, "rx rate 100kbit", err, sizeof(err)) > 0);
    /* 100 kbit/s queues 200 ms = 2500 bytes: the rest of 20 frames drops */
    for (int i = 0; i < 20; i++) {
        struct iovec iov = {big, sizeof(big)};
        size_t len = sizeof(big);
        dropped += fault_rx(f, &iov, 1, &len, (uint64_t)i, 0) == FAULT_DROP;
    }
    assert_true(dropped >= 15);
    fault_free(f);
}

static void test_add_del_list(void **state)
{
    char err[256];
    struct fault *f = fault_new(1);
    struct fault_rule_info info[8];
    int a, b;

    (void)state;
    a = fault_add(f, "rx drop 1%", err, sizeof(err));
    b = fault_add(f, "irq lost 2%", err, sizeof(err));
    assert_true(a > 0 && b > a);
    assert_int_equal(fault_add(f, "rx nonsense", err, sizeof(err)), -EINVAL);
    assert_int_equal(fault_list(f, info, 8), 2);
    assert_int_equal(fault_del(f, (unsigned)a), 0);
    assert_int_equal(fault_del(f, (unsigned)a), -ENOENT);
    assert_int_equal(fault_list(f, info, 8), 1);
    assert_string_equal(info[0].text, "irq lost 2%");
    fault_clear(f);
    assert_int_equal(fault_list(f, info, 8), 0);
    fault_free(f);
}

static void flap_ok(const char *text, enum link_flap_mode mode, unsigned up_min, unsigned up_max,
                    unsigned down_min, unsigned down_max, unsigned count)
{
    struct link_flap f;
    char err[160] = "";

    if (link_flap_parse(text, &f, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", text, err);
    assert_int_equal(f.mode, mode);
    assert_int_equal(f.up_min_ms, up_min);
    assert_int_equal(f.up_max_ms, up_max);
    assert_int_equal(f.down_min_ms, down_min);
    assert_int_equal(f.down_max_ms, down_max);
    assert_int_equal(f.count, count);
}

static void test_link_flap_accepted(void **state)
{
    (void)state;
    /* periodic: up (P-D)+-J, down D+-J */
    flap_ok("500", LINK_FLAP_PERIODIC, 250, 250, 250, 250, 0);
    flap_ok("500:100:8", LINK_FLAP_PERIODIC, 400, 400, 100, 100, 8);
    flap_ok("150:25:0:20", LINK_FLAP_PERIODIC, 105, 145, 5, 45, 0);
    flap_ok("1s:200ms", LINK_FLAP_PERIODIC, 800, 800, 200, 200, 0);
    flap_ok("100::3", LINK_FLAP_PERIODIC, 50, 50, 50, 50, 3);
    /* random: ranges as given, one time is a fixed duration */
    flap_ok("random:100-300:20-80", LINK_FLAP_RANDOM, 100, 300, 20, 80, 0);
    flap_ok("random:1s-2s:50:12", LINK_FLAP_RANDOM, 1000, 2000, 50, 50, 12);
    flap_ok("random:5-5:1ms-3ms:", LINK_FLAP_RANDOM, 5, 5, 1, 3, 0);
    flap_ok("random:1-3600000:1-1:10000000", LINK_FLAP_RANDOM, 1, 3600000, 1, 1, 10000000);
}

static void flap_refused(const char *text, const char *why)
{
    struct link_flap f;
    char err[160] = "";

    if (link_flap_parse(text, &f, err, sizeof(err)) == 0)
        fail_msg("'%s' was accepted", text);
    if (!strstr(err, why))
        fail_msg("'%s': '%s' does not say '%s'", text, err, why);
    if (!strstr(err, text))
        fail_msg("'%s': '%s' does not quote it", text, err);
}

static void test_link_flap_refused(void **state)
{
    char huge[200];

    (void)state;
    flap_refused("", "PERIOD must be a time");
    flap_refused("1", "at least 2 ms");
    flap_refused("-100", "PERIOD must be a time");
    flap_refused("100:x", "DOWN is not a time");
    flap_refused("100:100", "DOWN must be above 0 and below PERIOD");
    flap_refused("100:20:-3", "COUNT is not a number");
    flap_refused("100:20:3:20", "JITTER must stay below");
    flap_refused("100:20:3:5:1", "too many fields");
    flap_refused("random", "random needs UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX");
    flap_refused("random:10-20", "random needs UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX");
    flap_refused("random:10-20:5-10:3:1", "too many fields");
    flap_refused("random:x:5", "UP is not a time or a range");
    flap_refused("random::5", "UP is not a time or a range");
    flap_refused("random:10-:5", "UP is not a time or a range");
    flap_refused("random:-10:5", "UP is not a time or a range");
    flap_refused("random:10-20-30:5", "UP is not a time or a range");
    flap_refused("random:10-2h:5", "UP is not a time or a range");
    flap_refused("random:10-3600001:5", "UP is not a time or a range");
    flap_refused("random:10-20:5--6", "DOWN is not a time or a range");
    flap_refused("random:10-20: 5", "DOWN is not a time or a range");
    flap_refused("random:0-20:5", "UP times must be at least 1 ms");
    flap_refused("random:10-20:0", "DOWN times must be at least 1 ms");
    flap_refused("random:30-20:5", "UP range 30-20 ms runs backwards");
    flap_refused("random:10-20:5-1", "DOWN range 5-1 ms runs backwards");
    flap_refused("random:10-20:5:x", "COUNT is not a number");
    flap_refused("random:10-20:5:99999999", "COUNT is not a number");
    memset(huge, '1', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    {
        struct link_flap f;
        char err[300] = "";

        assert_int_equal(link_flap_parse(huge, &f, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "too long"));
    }
}

#define DRAWS 20000

static void test_link_schedule_random_draws(void **state)
{
    struct link_flap f;
    struct link_schedule a, b, c;
    char err[160];
    unsigned lo[2] = {~0u, ~0u}, hi[2] = {0, 0};
    double sum[2] = {0, 0};
    int differ = 0;

    (void)state;
    assert_int_equal(link_flap_parse("random:100-300:20-80", &f, err, sizeof(err)), 0);
    link_schedule_init(&a, &f, 7);
    link_schedule_init(&b, &f, 7);
    link_schedule_init(&c, &f, 8);
    for (int i = 0; i < DRAWS; i++) {
        bool up = i % 2 == 0; /* the flapper's order: up, down, up, ... */
        unsigned x = link_schedule_next(&a, up);
        unsigned min = up ? 100 : 20, max = up ? 300 : 80;

        assert_int_equal(x, link_schedule_next(&b, up)); /* same seed, same schedule */
        differ += x != link_schedule_next(&c, up);
        assert_in_range(x, min, max);
        lo[up] = x < lo[up] ? x : lo[up];
        hi[up] = x > hi[up] ? x : hi[up];
        sum[up] += x;
    }
    assert_true(differ > DRAWS * 9 / 10); /* another seed, another schedule */
    /* uniform over the whole inclusive range */
    assert_int_equal(lo[1], 100);
    assert_int_equal(hi[1], 300);
    assert_int_equal(lo[0], 20);
    assert_int_equal(hi[0], 80);
    assert_true(fabs(sum[1] / (DRAWS / 2) - 200.0) < 3.0);
    assert_true(fabs(sum[0] / (DRAWS / 2) - 50.0) < 1.0);
}

static void test_link_schedule_draws_like_jitter(void **state)
{
    struct link_flap f;
    struct link_schedule s;
    struct prng ref;
    char err[160];

    (void)state;
    /* periodic with jitter: each time is T-J + [0, 2J] from the LINK stream,
     * as before the random mode existed: same seed, same flaps as then */
    assert_int_equal(link_flap_parse("150:25:0:20", &f, err, sizeof(err)), 0);
    link_schedule_init(&s, &f, 42);
    prng_seed(&ref, 42, PRNG_STREAM_LINK);
    for (int i = 0; i < 1000; i++) {
        bool up = i % 2 == 0;

        assert_int_equal(link_schedule_next(&s, up), (up ? 125 : 25) - 20 + prng_below(&ref, 41));
    }
    /* a range of one value takes no draw: the other range's draws are the
     * stream's numbers in turn */
    assert_int_equal(link_flap_parse("random:50:10-20", &f, err, sizeof(err)), 0);
    link_schedule_init(&s, &f, 42);
    prng_seed(&ref, 42, PRNG_STREAM_LINK);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(link_schedule_next(&s, true), 50);
        assert_int_equal(link_schedule_next(&s, false), 10 + prng_below(&ref, 11));
    }
}

struct edges {
    bool up[64];
    int n;
};

static int record_edge(void *arg, bool up)
{
    struct edges *e = arg;

    if (e->n < (int)(sizeof(e->up) / sizeof(e->up[0])))
        e->up[e->n] = up;
    e->n++;
    return 0;
}

/* The "link-flap" events recorded since event FIRST: their hold_ms (-1 when
 * absent) and their end (the text after "end", or NULL). */
static int flap_records(uint64_t first, long *hold, char ends[][16], int max)
{
    struct events_record recs[64];
    size_t n = events_recent(recs, sizeof(recs) / sizeof(recs[0]));
    int k = 0;

    for (size_t i = 0; i < n; i++) {
        const char *h, *end;

        if (recs[i].seq <= first || strcmp(recs[i].type, "link-flap") != 0)
            continue;
        assert_true(k < max);
        h = strstr(recs[i].text, "\"hold_ms\":");
        hold[k] = h ? strtol(h + 10, NULL, 10) : -1;
        end = strstr(recs[i].text, "\"end\":\"");
        snprintf(ends[k], sizeof(ends[k]), "%.*s", end ? (int)strcspn(end + 7, "\"") : 0,
                 end ? end + 7 : "");
        k++;
    }
    return k;
}

static void test_link_flapper_runs_the_schedule(void **state)
{
    struct event_base *base = event_base_new();
    time_t t0 = time(NULL);
    struct link_flap f;
    struct link_schedule ref;
    struct link_flapper *lf;
    struct edges e = {.n = 0};
    char err[160], ends[16][16];
    long hold[16];
    uint64_t first = events_count();
    int n, r;

    (void)state;
    assert_non_null(base);
    assert_int_equal(link_flap_parse("random:1-4:1-3:5", &f, err, sizeof(err)), 0);
    lf = link_flapper_start(base, &f, 99, record_edge, &e);
    assert_non_null(lf);
    /* until no timer is left (1), bounded should the schedule not stop */
    while ((r = event_base_loop(base, EVLOOP_ONCE)) == 0 && time(NULL) - t0 < 10)
        ;
    assert_int_equal(r, 1);
    assert_int_equal(link_flapper_cycles(lf), 5);
    assert_int_equal(e.n, 10); /* both edges, COUNT times, then no more */
    for (int i = 0; i < 10; i++)
        assert_int_equal(e.up[i], i % 2 == 1);
    /* recorded: the first up time, then each edge with the time drawn for
     * it, the last up ends the schedule */
    n = flap_records(first, hold, ends, 16);
    assert_int_equal(n, 11);
    link_schedule_init(&ref, &f, 99);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hold[i], link_schedule_next(&ref, i % 2 == 0));
        assert_string_equal(ends[i], "");
    }
    assert_int_equal(hold[10], -1);
    assert_string_equal(ends[10], "count");
    link_flapper_free(lf);
    assert_int_equal(e.n, 10); /* the cable was in: nothing to plug */
    event_base_free(base);
}

static void test_link_flapper_free_plugs_back(void **state)
{
    struct event_base *base = event_base_new();
    struct timeval limit = {0, 50000};
    struct link_flap f;
    struct link_flapper *lf;
    struct edges e = {.n = 0};
    char err[160], ends[8][16];
    long hold[8];
    uint64_t first = events_count();

    (void)state;
    assert_non_null(base);
    /* in for 1 ms, out for 10 s: stopped while the cable is out */
    assert_int_equal(link_flap_parse("random:1:10s", &f, err, sizeof(err)), 0);
    lf = link_flapper_start(base, &f, 1, record_edge, &e);
    assert_non_null(lf);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    assert_int_equal(e.n, 1);
    assert_false(e.up[0]);
    link_flapper_free(lf);
    assert_int_equal(e.n, 2);
    assert_true(e.up[1]);
    assert_int_equal(flap_records(first, hold, ends, 8), 3);
    assert_int_equal(hold[0], 1);
    assert_int_equal(hold[1], 10000);
    assert_string_equal(ends[2], "stop");
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_accepted),
        cmocka_unit_test(test_rules_refused),
        cmocka_unit_test(test_prng_streams),
        cmocka_unit_test(test_gilbert_elliott_loss_rate),
        cmocka_unit_test(test_drop_every_and_determinism),
        cmocka_unit_test(test_corrupt_and_truncate_in_place),
        cmocka_unit_test(test_rate_shaper_paces_frames),
        cmocka_unit_test(test_rate_shaper_drops_beyond_its_queue),
        cmocka_unit_test(test_add_del_list),
        cmocka_unit_test(test_link_flap_accepted),
        cmocka_unit_test(test_link_flap_refused),
        cmocka_unit_test(test_link_schedule_random_draws),
        cmocka_unit_test(test_link_schedule_draws_like_jitter),
        cmocka_unit_test(test_link_flapper_runs_the_schedule),
        cmocka_unit_test(test_link_flapper_free_plugs_back),
    };

    events_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
