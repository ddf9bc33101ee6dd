/* SPDX-License-Identifier: MIT */
/* Link faults: pull and plug the cable on a schedule. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault_inject/prng.h"

struct event_base;
struct link_flapper;

enum link_flap_mode {
    LINK_FLAP_PERIODIC, /* P[:D[:N[:J]]] */
    LINK_FLAP_RANDOM,   /* random:UMIN-UMAX:DMIN-DMAX[:N] */
};

/* A schedule. Both modes come down to two ranges: every up time and every
 * down time is drawn uniformly from its range (a range of one value draws
 * nothing). Periodic P:D:N:J is up (P-D)+-J and down D+-J. */
struct link_flap {
    enum link_flap_mode mode;
    unsigned up_min_ms, up_max_ms;     /* the cable stays in this long */
    unsigned down_min_ms, down_max_ms; /* the cable stays out this long */
    unsigned count;                    /* cycles, 0: until stopped */
};

/* The durations of a schedule, drawn from the --seed's LINK stream,
 * apart from any timer: the flapper uses one, the unit tests another. */
struct link_schedule {
    struct link_flap f;
    struct prng rng;
};

/* Changes the link (true: up); 0 or -errno. */
typedef int (*link_set_cb)(void *arg, bool up);

int link_flap_parse(const char *s, struct link_flap *out, char *err, size_t errlen);
void link_schedule_init(struct link_schedule *s, const struct link_flap *f, uint64_t seed);
unsigned link_schedule_next(struct link_schedule *s, bool up);
struct link_flapper *link_flapper_start(struct event_base *base, const struct link_flap *f,
                                        uint64_t seed, link_set_cb set, void *arg);
void link_flapper_free(struct link_flapper *lf);
unsigned link_flapper_cycles(const struct link_flapper *lf);
