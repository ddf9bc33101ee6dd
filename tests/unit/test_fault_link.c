/* SPDX-License-Identifier: MIT */
/* Unit tests for fault_inject/link.c: link flap schedules (parsing, the
 * drawn durations) and the flapper on a real libevent loop, with the
 * events it records. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/events.h"
#include "fault_inject/link.h"

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
