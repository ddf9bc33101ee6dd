/* SPDX-License-Identifier: MIT */
/* Link faults: pull and plug the cable on a schedule. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct link_flapper;

struct link_flap {
    unsigned period_ms; /* one down+up cycle starts every period */
    unsigned down_ms;   /* how long the cable stays out */
    unsigned count;     /* cycles, 0: until stopped */
    unsigned jitter_ms; /* each period and down time varies by +-jitter */
};

/* Changes the link (true: up); 0 or -errno. */
typedef int (*link_set_cb)(bool up, void *arg);

int link_flap_parse(const char *s, struct link_flap *out, char *err, size_t errlen);
struct link_flapper *link_flapper_start(struct event_base *base, const struct link_flap *f,
                                        uint64_t seed, link_set_cb set, void *arg);
void link_flapper_free(struct link_flapper *lf);
unsigned link_flapper_cycles(const struct link_flapper *lf);
