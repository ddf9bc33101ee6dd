/* SPDX-License-Identifier: MIT */
/* Fault rules: what to do to which frames (or interrupts), parsed from text:
 *
 *   DIR ACTION [ARGS...] ["BPF filter"]
 *
 *   rx|tx drop P%                     drop with probability P
 *   rx|tx drop every N                drop every Nth matching frame
 *   rx|tx drop gilbert P% R% [K% H%]  Gilbert-Elliott bursts: good->bad P,
 *                                     bad->good R, loss K in good, H in bad
 *   rx|tx dup P%                      deliver twice
 *   rx|tx corrupt P% [bits N]         flip N random bits (default 1)
 *   rx|tx corrupt P% bytes A-B        change every byte A..B (offsets; XOR, never 0)
 *   rx|tx truncate P% LEN             cut the frame to LEN bytes
 *   rx|tx delay T [J] [P%]            hold T +- J (e.g. 50ms 10ms): reorders
 *   rx|tx reorder P% [GAP]            hold a frame until GAP others passed
 *   rx|tx rate R [BURST]              token bucket at R (e.g. 10mbit), queue
 *                                     the excess (up to 200 ms), drop beyond
 *   irq late T [P%]                   raise the TX-complete IRQ T later
 *   irq lost P%                       lose it (the ring waits for the next)
 *   irq dup P%                        raise it twice
 *   irq spurious T                    an extra IRQ every T, work or not
 *   alloc fail P% TARGET              make lwIP allocations fail (alloc.c):
 *   alloc fail every N TARGET         with probability P, or every Nth one;
 *                                     TARGET is pool=NAME (a memp pool as
 *                                     memp_std.h names it) or heap. The
 *                                     filter selects the frame lwIP's input
 *                                     is processing at the time.
 *
 * DIR "both" is an rx rule plus its tx twin (two rules, fault_add()); netem's
 * "loss" and "duplicate" are read as "drop" and "dup".
 *
 * The filter is a libpcap expression, compiled once (pcap_compile on a
 * dead Ethernet handle) and run with pcap_offline_filter().
 */
#pragma once

#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fault_dir {
    FAULT_RX,
    FAULT_TX,
    FAULT_IRQ,
    FAULT_ALLOC, /* not a frame direction: lwIP's allocators (alloc.c) */
};

enum fault_action {
    FA_DROP,
    FA_DROP_EVERY,
    FA_DROP_GILBERT,
    FA_DUP,
    FA_CORRUPT_BITS,
    FA_CORRUPT_BYTES,
    FA_TRUNCATE,
    FA_DELAY,
    FA_REORDER,
    FA_RATE,
    FA_IRQ_LATE,
    FA_IRQ_LOST,
    FA_IRQ_DUP,
    FA_IRQ_SPURIOUS,
    FA_ALLOC_FAIL,
    FA_ALLOC_FAIL_EVERY,
};

struct fault_rule {
    unsigned id;
    enum fault_dir dir;
    enum fault_action action;
    double p;        /* probability in [0, 1] */
    unsigned n;      /* every N, bits, truncate length, reorder gap */
    unsigned lo, hi; /* corrupt bytes: offsets, inclusive */
    double ge_p, ge_r, ge_k, ge_h;
    uint64_t t_ns; /* delay, late, spurious period */
    uint64_t jitter_ns;
    uint64_t rate_bps;
    uint64_t burst_bytes;
    int pool; /* alloc rules: the memp_t, or ALLOC_POOL_HEAP (alloc_pools.h) */
    char filter[256];
    bool has_prog;
    struct bpf_program prog;
    char text[512]; /* canonical text, as listed */
    bool both;      /* written "both": fault_add() adds this rx rule and a tx twin */
    /* state, touched only by the thread that runs this direction */
    bool ge_bad;
    uint64_t seen;
    double tokens;
    uint64_t tokens_ns;
    uint64_t backlog_until_ns;
    /* counters */
    atomic_uint_fast64_t matched;
    atomic_uint_fast64_t acted;
};

int fault_rule_parse(const char *text, struct fault_rule *out, char *err, size_t errlen);
void fault_rule_release(struct fault_rule *r);
bool fault_rule_match(const struct fault_rule *r, const uint8_t *frame, size_t len);
const char *fault_action_name(enum fault_action a);
const char *fault_dir_name(enum fault_dir d);
