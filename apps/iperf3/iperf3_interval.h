/* SPDX-License-Identifier: MIT */
/* The lwIP client's per-interval results, in the shape of iperf3 -J's
 * "intervals" array: taken from the data streams' counters every period,
 * kept for the final report and handed to a callback as they complete.
 * Runs under lwIP's core lock, like the streams it reads. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apps/iperf3/iperf3_stream.h"

struct cJSON;

/* iperf3's -i range (seconds), its default, and how many stream entries
 * the final report keeps at most (the callback still sees every one). */
#define IPERF3_INTERVAL_MIN_S       0.1
#define IPERF3_INTERVAL_MAX_S       60.0
#define IPERF3_INTERVAL_DEFAULT_S   1.0
#define IPERF3_INTERVAL_MAX_ENTRIES 16384

/* An interval completed: INTERVAL (borrowed, valid during the call) is
 * one element of -J's "intervals". Returns -1 to get no more calls (the
 * reader has gone); the accounting goes on. */
typedef int (*iperf3_interval_cb)(void *arg, const struct cJSON *interval);

/* Counters of one stream at the start of the interval under way. */
struct iperf3_interval_mark {
    uint64_t bytes, packets, errors;
};

/* A test's interval accounting. */
struct iperf3_intervals {
    uint64_t period_ns; /* 0: no intervals */
    uint64_t base_ns;   /* time 0 of the reported times (see iperf3_interval.c) */
    uint64_t from_ns;   /* start of the interval under way */
    uint64_t due_ns;    /* its end */
    bool omitted;       /* it lies in the omit period */
    bool active;        /* between start and finish */
    struct iperf3_interval_mark *m;
    unsigned n;
    unsigned kept, dropped; /* in ALL / left out of it (IPERF3_INTERVAL_MAX_ENTRIES) */
    struct cJSON *all;      /* the "intervals" array so far */
    iperf3_interval_cb cb;  /* NULL: nobody to tell */
    void *arg;
};

int iperf3_interval_start(struct iperf3_intervals *iv, const struct iperf3_streams *d,
                          uint32_t period_ms, iperf3_interval_cb cb, void *arg);
unsigned iperf3_interval_tick(struct iperf3_intervals *iv, const struct iperf3_streams *d);
void iperf3_interval_finish(struct iperf3_intervals *iv, const struct iperf3_streams *d);
struct cJSON *iperf3_interval_take(struct iperf3_intervals *iv);
void iperf3_interval_release(struct iperf3_intervals *iv);
