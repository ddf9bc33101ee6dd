/* SPDX-License-Identifier: MIT */
/* Unit tests for allocation-failure rules (fault_inject/alloc.c): parsing
 * (accepted, canonical text, refused with the reason), the decisions of
 * armed rules (every N, P % following the seed, filters on the frame being
 * processed), an unarmed set deciding nothing, and list / del / clear. The
 * linker wrappers themselves are exercised by the integration tests. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/events.h"
#include "fault_inject/alloc.h"
#include "fault_inject/alloc_pools.h"
#include "fault_inject/fault.h"
#include "fault_inject/rule.h"
#include "lwip/memp.h"

static void parse_ok(const char *text, struct fault_rule *r)
{
    char err[512] = "";

    if (fault_rule_parse(text, r, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", text, err);
    assert_int_equal(r->dir, FAULT_ALLOC);
}

static void refused(const char *text, const char *why)
{
    struct fault_rule r;
    char err[512] = "";

    if (fault_rule_parse(text, &r, err, sizeof(err)) == 0)
        fail_msg("'%s' accepted", text);
    if (!strstr(err, why))
        fail_msg("'%s': '%s' does not say '%s'", text, err, why);
}

static void test_alloc_rules_accepted(void **state)
{
    struct fault_rule r;

    (void)state;
    parse_ok("alloc fail 5% pool=TCP_SEG", &r);
    assert_int_equal(r.action, FA_ALLOC_FAIL);
    assert_int_equal(r.pool, MEMP_TCP_SEG);
    assert_true(r.p > 0.0499 && r.p < 0.0501);
    assert_string_equal(r.text, "alloc fail 5% pool=TCP_SEG");
    parse_ok("alloc fail every 10 pool=memp_pbuf_pool", &r); /* listed as lwIP spells it */
    assert_int_equal(r.action, FA_ALLOC_FAIL_EVERY);
    assert_int_equal(r.n, 10);
    assert_int_equal(r.pool, MEMP_PBUF_POOL);
    assert_string_equal(r.text, "alloc fail every 10 pool=PBUF_POOL");
    parse_ok("alloc fail 1% heap", &r);
    assert_int_equal(r.pool, ALLOC_POOL_HEAP);
    parse_ok("alloc fail 20% pool=PBUF \"udp port 67\"", &r);
    assert_int_equal(r.pool, MEMP_PBUF);
    assert_true(r.has_prog);
    assert_string_equal(r.text, "alloc fail 20% pool=PBUF \"udp port 67\"");
    fault_rule_release(&r);
    assert_string_equal(fault_dir_name(FAULT_ALLOC), "alloc");
    assert_string_equal(fault_action_name(FA_ALLOC_FAIL_EVERY), "fail every");
}

static void test_alloc_rules_refused(void **state)
{
    (void)state;
    refused("alloc fail", "a probability or 'every N'");
    refused("alloc fail 5%", "pool=NAME or heap");
    refused("alloc fail 5% pool=NOPE", "no pool 'NOPE' in this lwIP (");
    refused("alloc fail 5% pool=NOPE", "TCP_PCB");
    refused("alloc fail 5% stack", "not pool=NAME or heap");
    refused("alloc fail 5 heap", "needs its % sign");
    refused("alloc fail 101% heap", "between 0% and 100%");
    refused("alloc fail every 0 heap", "count of at least 1");
    refused("alloc fail every heap", "count of at least 1");
    refused("alloc drop 5% heap", "unknown alloc action 'drop'");
    refused("alloc fail 5% heap extra", "unexpected 'extra'");
    refused("alloc fail 5% heap \"tcp and\"", "bad filter");
    refused("both fail 5% heap", "unknown action");
}

/* N decisions for POOL as a string of F (fail) and . (pass). */
static void decide(int pool, int n, char *out)
{
    for (int i = 0; i < n; i++)
        out[i] = alloc_decide(pool) ? 'F' : '.';
    out[n] = '\0';
}

static void test_every_n_armed_only(void **state)
{
    struct fault *f = fault_new(1);
    struct fault_rule_info info[4];
    char err[256], got[16];
    uint64_t before = alloc_injected(MEMP_TCP_PCB);
    int id;

    (void)state;
    id = fault_add(f, "alloc fail every 3 pool=TCP_PCB", err, sizeof(err));
    assert_true(id > 0);
    decide(MEMP_TCP_PCB, 6, got); /* not armed: nothing fails, nothing counted */
    assert_string_equal(got, "......");
    fault_arm_alloc(f);
    decide(MEMP_TCP_PCB, 7, got);
    assert_string_equal(got, "..F..F.");
    decide(MEMP_TCP_SEG, 4, got); /* another pool */
    assert_string_equal(got, "....");
    assert_int_equal(fault_list(f, info, 4), 1);
    assert_int_equal(info[0].id, id);
    assert_string_equal(info[0].text, "alloc fail every 3 pool=TCP_PCB");
    assert_int_equal(info[0].matched, 7);
    assert_int_equal(info[0].acted, 2);
    assert_int_equal(alloc_injected(MEMP_TCP_PCB) - before, 2);
    assert_int_equal(fault_del(f, (unsigned)id), 0);
    assert_int_equal(fault_list(f, info, 4), 0);
    decide(MEMP_TCP_PCB, 3, got);
    assert_string_equal(got, "...");
    fault_free(f); /* disarms */
}

/* 200 decisions of "alloc fail 30% heap" with SEED, armed in a fresh set. */
static void run_percent(uint64_t seed, char *out)
{
    struct fault *f = fault_new(seed);
    char err[256];

    assert_true(fault_add(f, "alloc fail 30% heap", err, sizeof(err)) > 0);
    fault_arm_alloc(f);
    decide(ALLOC_POOL_HEAP, 200, out);
    fault_free(f);
}

static void test_percent_follows_the_seed(void **state)
{
    char a[201], b[201], c[201];
    int n = 0;

    (void)state;
    run_percent(42, a);
    run_percent(42, b);
    run_percent(43, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    for (int i = 0; i < 200; i++)
        n += a[i] == 'F';
    assert_true(n > 30 && n < 90); /* 60 expected */
}

static void test_filter_applies_inside_matching_frames(void **state)
{
    struct fault *f = fault_new(1);
    struct alloc_frame saved;
    char err[256], got[8];
    uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
    uint8_t ip[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00};

    (void)state;
    assert_true(fault_add(f, "alloc fail 100% pool=PBUF \"arp\"", err, sizeof(err)) > 0);
    assert_false(alloc_frame_filters()); /* not armed yet */
    fault_arm_alloc(f);
    assert_true(alloc_frame_filters());
    decide(MEMP_PBUF, 2, got); /* outside any frame */
    assert_string_equal(got, "..");
    alloc_frame_begin(arp, sizeof(arp), sizeof(arp), &saved);
    decide(MEMP_PBUF, 2, got);
    assert_string_equal(got, "FF");
    alloc_frame_end(&saved);
    alloc_frame_begin(ip, sizeof(ip), sizeof(ip), &saved);
    decide(MEMP_PBUF, 2, got);
    assert_string_equal(got, "..");
    alloc_frame_end(&saved);
    decide(MEMP_PBUF, 1, got);
    assert_string_equal(got, ".");
    fault_clear(f);
    assert_false(alloc_frame_filters());
    fault_free(f);
}

static void test_check_set_never_decides(void **state)
{
    struct fault *live = fault_new(1), *check = fault_new(1);
    char err[256], got[4];

    (void)state;
    fault_arm_alloc(live);
    assert_true(fault_add(check, "alloc fail 100% heap", err, sizeof(err)) > 0);
    decide(ALLOC_POOL_HEAP, 3, got);
    assert_string_equal(got, "...");
    fault_free(check);
    fault_free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_rules_accepted),
        cmocka_unit_test(test_alloc_rules_refused),
        cmocka_unit_test(test_every_n_armed_only),
        cmocka_unit_test(test_percent_follows_the_seed),
        cmocka_unit_test(test_filter_applies_inside_matching_frames),
        cmocka_unit_test(test_check_set_never_decides),
    };

    events_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
