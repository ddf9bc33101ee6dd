/* SPDX-License-Identifier: MIT */
/* xoshiro256** (Blackman and Vigna, public domain algorithm), seeded through
 * splitmix64 from (seed, stream), so streams do not overlap in practice. */
#include "fault_inject/prng.h"

#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Seed stream STREAM of SEED into P. Same arguments, same sequence. */
void prng_seed(struct prng *p, uint64_t seed, enum prng_stream stream)
{
    uint64_t x = seed ^ ((uint64_t)(stream + 1) * 0xd1342543de82ef95ull);

    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&x);
}

uint64_t prng_next(struct prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, N) (N > 0), without modulo bias (Lemire's method). */
uint32_t prng_below(struct prng *p, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)prng_next(p) * n;
    uint32_t low = (uint32_t)m;

    if (low < n) {
        uint32_t threshold = (uint32_t)-n % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)prng_next(p) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Uniform in [0, 1). */
double prng_unit(struct prng *p)
{
    return (double)(prng_next(p) >> 11) * 0x1.0p-53;
}

/* A seed for when the user gave none (printed and recorded, so the run can
 * be repeated). Never 0. */
uint64_t prng_random_seed(void)
{
    uint64_t s = 0;

    if (getrandom(&s, sizeof(s), 0) != sizeof(s))
        s = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
    return s ? s : 1;
}
