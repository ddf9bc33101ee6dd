/* SPDX-License-Identifier: MIT */
/* Unit tests for fault_inject/'s packet and IRQ faults: rule parsing
 * (accepted and refused, with the reason), PRNG determinism,
 * Gilbert-Elliott loss statistics, the rate shaper, the injector's
 * decisions on synthetic frames and the order in which it hands frames and
 * their duplicates back. Link flaps are test_fault_link.c's. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/events.h"
#include "fault_inject/fault.h"
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

/* netem's words: "loss" is drop, "duplicate" is dup; listed as ours. */
static void test_netem_words(void **state)
{
    struct fault_rule r;

    (void)state;
    parse_ok("tx loss 5%", FAULT_TX, FA_DROP, &r);
    assert_string_equal(r.text, "tx drop 5%");
    parse_ok("rx loss gilbert 1% 20%", FAULT_RX, FA_DROP_GILBERT, &r);
    parse_ok("rx duplicate 3% \"udp\"", FAULT_RX, FA_DUP, &r);
    assert_string_equal(r.text, "rx dup 3% \"udp\"");
    fault_rule_release(&r);
    parse_ok("irq duplicate 1%", FAULT_IRQ, FA_IRQ_DUP, &r);
    parse_ok("both delay 10ms", FAULT_RX, FA_DELAY, &r);
    assert_true(r.both);
    assert_string_equal(r.text, "rx delay 10ms");
}

/* "both": an rx rule and its tx twin, added and listed as two rules. */
static void test_both_adds_two_rules(void **state)
{
    char err[256];
    struct fault *f = fault_new(1);
    struct fault_rule_info info[8];
    int a;

    (void)state;
    a = fault_add(f, "both loss 10% \"icmp\"", err, sizeof(err));
    assert_true(a > 0);
    assert_int_equal(fault_list(f, info, 8), 2);
    assert_string_equal(info[0].text, "rx drop 10% \"icmp\"");
    assert_string_equal(info[1].text, "tx drop 10% \"icmp\"");
    assert_int_equal(fault_del(f, (unsigned)a + 1), 0);
    fault_clear(f);
    fault_free(f);
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
    refused("tx drop 5", "probability '5' needs its % sign: write 5%");
    refused("tx drop 1", "needs its % sign");
    refused("rx dup 2.5", "write 2.5%");
    refused("tx drop gilbert 1 20%", "probability '1' needs its % sign");
    refused("tx drop five", "between 0% and 100%");
    refused("irq both 5%", "unknown irq action");
    refused("irq loss 5%", "unknown irq action");
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

    (void)no;
    return fault_rx(f, &iov, 1, &len, NULL);
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
    assert_int_equal(fault_rx(f, &iov, 1, &len, NULL), FAULT_PASS);
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
    return base_timespec_ns(&ts);
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
    struct fault_io io = {.rx_deliver = delivered, .arg = &o};
    static uint8_t big[1000];
    int passed = 0;

    (void)state;
    fault_set_io(f, &io);
    assert_true(fault_add(f, "rx rate 1mbit", err, sizeof(err)) > 0);
    uint64_t t0 = mono_ns();
    for (int i = 0; i < 20; i++) {
        struct iovec iov = {big, sizeof(big)};
        size_t len = sizeof(big);
        enum fault_verdict v = fault_rx(f, &iov, 1, &len, NULL);
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
        dropped += fault_rx(f, &iov, 1, &len, NULL) == FAULT_DROP;
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

/* ---- duplicates follow their originals ----------------------------------- */

/* What the injector handed back through fault_io, in order: by which
 * callback ('i' rx_inline, 'd' rx_deliver, 't' tx_write), the frame's
 * number (its first byte), its length and (tx) stamp. The delay line's
 * thread writes too: under LOCK. */
struct handed {
    pthread_mutex_t lock;
    int n;
    struct {
        char via;
        uint8_t no;
        size_t len;
        uint64_t ts;
    } f[64];
};

static void hand(struct handed *h, char via, const uint8_t *data, size_t len, uint64_t ts)
{
    pthread_mutex_lock(&h->lock);
    if (h->n < 64) {
        h->f[h->n].via = via;
        h->f[h->n].no = len ? data[0] : 0;
        h->f[h->n].len = len;
        h->f[h->n].ts = ts;
        h->n++;
    }
    pthread_mutex_unlock(&h->lock);
}

static void handed_inline(void *arg, const uint8_t *data, size_t len)
{
    hand(arg, 'i', data, len, 0);
}

static void handed_later(void *arg, const uint8_t *data, size_t len)
{
    hand(arg, 'd', data, len, 0);
}

static void handed_tx(void *arg, const uint8_t *data, size_t len, uint64_t ts_ns,
                      struct capture_note *note)
{
    (void)note;
    hand(arg, 't', data, len, ts_ns);
}

static int handed_count(struct handed *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->n;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* An injector with RULES (NULL-terminated) whose fault_io records into H. */
static struct fault *order_injector(struct handed *h, uint64_t seed, const char *const *rules)
{
    struct fault_io io = {
        .rx_deliver = handed_later, .rx_inline = handed_inline, .tx_write = handed_tx, .arg = h};
    struct fault *f = fault_new(seed);
    char err[256];

    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    fault_set_io(f, &io);
    for (; *rules; rules++)
        if (fault_add(f, *rules, err, sizeof(err)) <= 0)
            fail_msg("'%s' refused: %s", *rules, err);
    return f;
}

/* Frame NO (NO in every byte) through fault_rx; its verdict. */
static enum fault_verdict rx_numbered(struct fault *f, uint8_t no)
{
    static uint8_t buf[64];
    struct iovec iov = {buf, sizeof(buf)};
    size_t len = sizeof(buf);

    memset(buf, no, sizeof(buf));
    (void)no;
    return fault_rx(f, &iov, 1, &len, NULL);
}

static void assert_handed(struct handed *h, const char *via, const uint8_t *no, const size_t *len)
{
    int n = (int)strlen(via);

    assert_int_equal(handed_count(h), n);
    for (int i = 0; i < n; i++) {
        if (h->f[i].via != via[i] || h->f[i].no != no[i] || (len && h->f[i].len != len[i]))
            fail_msg("handed back #%d: %c frame %u (%zu bytes), expected %c frame %u (%zu)", i,
                     h->f[i].via, h->f[i].no, h->f[i].len, via[i], no[i], len ? len[i] : 0);
    }
}

static void test_rx_dup_follows_its_frame(void **state)
{
    /* Every frame comes back in line, then its copy: 1,1,2,2,3,3 - never
     * the copies first. A frame no rule duplicates passes to the driver,
     * between them. */
    const char *const rules[] = {"rx dup 100% \"ether[0] != 2\"", NULL};
    struct handed h;
    struct fault *f = order_injector(&h, 5, rules);

    (void)state;
    assert_int_equal(rx_numbered(f, 1), FAULT_TAKEN);
    assert_int_equal(rx_numbered(f, 2), FAULT_PASS);
    assert_int_equal(rx_numbered(f, 3), FAULT_TAKEN);
    assert_handed(&h, "iiii", (const uint8_t[]){1, 1, 3, 3}, NULL);
    fault_free(f);
}

static void test_dup_copy_keeps_its_bytes(void **state)
{
    /* dup, then truncate: the frame goes out cut, its copy (made before the
     * cut) whole, behind it; a dropped frame's copy takes its place. */
    const char *const rules[] = {"rx dup 100%", "rx truncate 100% 40", "rx drop every 2", NULL};
    struct handed h;
    struct fault *f = order_injector(&h, 5, rules);

    (void)state;
    assert_int_equal(rx_numbered(f, 1), FAULT_TAKEN);
    assert_int_equal(rx_numbered(f, 2), FAULT_DROP);
    assert_handed(&h, "iii", (const uint8_t[]){1, 1, 2}, (const size_t[]){40, 64, 64});
    fault_free(f);
}

static void test_held_dup_leaves_behind_its_frame(void **state)
{
    /* dup, then delay: the copies wait with their frames and leave the
     * delay line right behind them. */
    const char *const rules[] = {"rx dup 100%", "rx delay 20ms", NULL};
    struct handed h;
    struct fault *f = order_injector(&h, 5, rules);

    (void)state;
    for (uint8_t no = 1; no <= 4; no++)
        assert_int_equal(rx_numbered(f, no), FAULT_TAKEN);
    for (int i = 0; i < 200 && handed_count(&h) < 8; i++)
        usleep(10000); /* bounded: 2 s */
    assert_handed(&h, "dddddddd", (const uint8_t[]){1, 1, 2, 2, 3, 3, 4, 4}, NULL);
    fault_free(f);
}

static void test_tx_dup_follows_its_frame(void **state)
{
    /* lwIP's frame is written first, then its copy, both with the frame's
     * stamp; after a truncate the copy (made before it) is whole. */
    const char *const rules[] = {"tx dup 100% \"ether[0] = 1\"", "tx truncate 100% 40", NULL};
    struct handed h;
    struct fault *f = order_injector(&h, 5, rules);
    static uint8_t buf[64];
    struct iovec iov = {buf, sizeof(buf)};

    (void)state;
    for (uint8_t no = 1; no <= 2; no++) {
        memset(buf, no, sizeof(buf));
        struct capture_note note = {.ts_ns = 1000 + no};
        assert_int_equal(fault_tx(f, &iov, 1, sizeof(buf), &note), FAULT_TAKEN);
        assert_int_equal(note.nacts, no == 1 ? 2 : 1); /* dup, truncate: for the capture */
    }
    assert_handed(&h, "ttt", (const uint8_t[]){1, 1, 2}, (const size_t[]){40, 64, 40});
    assert_true(h.f[0].ts == 1001 && h.f[1].ts == 1001 && h.f[2].ts == 1002);
    fault_free(f);
}

static void test_dup_decisions_follow_the_seed(void **state)
{
    /* One draw per matched frame from the rx stream, in frame order: the
     * rule duplicates frame k exactly when the k-th draw of the seed's rx
     * stream is below P. */
    const char *const rules[] = {"rx dup 50%", NULL};
    struct handed h;
    struct fault *f = order_injector(&h, 99, rules);
    struct prng ref;
    int dups = 0;

    (void)state;
    prng_seed(&ref, 99, PRNG_STREAM_RX);
    for (uint8_t no = 1; no <= 20; no++) {
        bool dup = prng_unit(&ref) < 0.5;
        int before = handed_count(&h);

        assert_int_equal(rx_numbered(f, no), dup ? FAULT_TAKEN : FAULT_PASS);
        assert_int_equal(handed_count(&h) - before, dup ? 2 : 0);
        dups += dup;
    }
    assert_true(dups > 0 && dups < 20);
    fault_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_accepted),
        cmocka_unit_test(test_rules_refused),
        cmocka_unit_test(test_netem_words),
        cmocka_unit_test(test_both_adds_two_rules),
        cmocka_unit_test(test_prng_streams),
        cmocka_unit_test(test_gilbert_elliott_loss_rate),
        cmocka_unit_test(test_drop_every_and_determinism),
        cmocka_unit_test(test_corrupt_and_truncate_in_place),
        cmocka_unit_test(test_rate_shaper_paces_frames),
        cmocka_unit_test(test_rate_shaper_drops_beyond_its_queue),
        cmocka_unit_test(test_add_del_list),
        cmocka_unit_test(test_rx_dup_follows_its_frame),
        cmocka_unit_test(test_dup_copy_keeps_its_bytes),
        cmocka_unit_test(test_held_dup_leaves_behind_its_frame),
        cmocka_unit_test(test_tx_dup_follows_its_frame),
        cmocka_unit_test(test_dup_decisions_follow_the_seed),
    };

    events_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
