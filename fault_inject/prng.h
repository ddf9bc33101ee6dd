/* SPDX-License-Identifier: MIT */
/* Deterministic pseudo-random numbers for fault decisions (xoshiro256**). */
#pragma once

#include <stdint.h>

struct prng {
    uint64_t s[4];
};

/* Independent streams derived from the one --seed, one per consumer, so
 * that thread interleaving never changes a decision. */
enum prng_stream {
    PRNG_STREAM_RX,
    PRNG_STREAM_TX,
    PRNG_STREAM_LINK,
    PRNG_STREAM_IRQ,
};

void prng_seed(struct prng *p, uint64_t seed, enum prng_stream stream);
uint64_t prng_next(struct prng *p);
uint32_t prng_below(struct prng *p, uint32_t n);
double prng_unit(struct prng *p);
uint64_t prng_random_seed(void);
