/* SPDX-License-Identifier: MIT */
/* Link flap schedules on the main event loop: every period the cable is
 * pulled for down_ms, then plugged again, COUNT times, with seeded jitter.
 * The link change itself (lwIP's link state and the host's carrier together)
 * is the caller's set_link callback. */
#define _GNU_SOURCE
#include "fault_inject/link.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject/prng.h"

struct link_flapper {
    struct link_flap f;
    struct event *ev;
    struct prng rng;
    link_set_cb set;
    void *arg;
    bool down; /* the cable is out now */
    unsigned cycles;
};

static int parse_ms(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || v > 3600000 || s[0] == '-')
        return -EINVAL;
    if (strcmp(end, "ms") == 0 || *end == '\0') {
        *out = (unsigned)v;
        return 0;
    }
    if (strcmp(end, "s") == 0 && v <= 3600) {
        *out = (unsigned)v * 1000;
        return 0;
    }
    return -EINVAL;
}

/* Parse PERIOD[:DOWN[:COUNT[:JITTER]]] (milliseconds, or with "ms"/"s").
 * DOWN defaults to half the period. 0 or -EINVAL with ERR set. */
int link_flap_parse(const char *s, struct link_flap *out, char *err, size_t errlen)
{
    char buf[128];
    char *parts[4] = {NULL, NULL, NULL, NULL};
    int n = 0;

    if (strlen(s) >= sizeof(buf)) {
        snprintf(err, errlen, "'%s' is too long", s);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *p = buf, *tok; n < 4 && (tok = strsep(&p, ":")) != NULL;)
        parts[n++] = tok;
    memset(out, 0, sizeof(*out));
    if (n == 0 || parse_ms(parts[0], &out->period_ms) || out->period_ms < 2) {
        snprintf(err, errlen, "'%s': PERIOD must be a time of at least 2 ms", s);
        return -EINVAL;
    }
    out->down_ms = out->period_ms / 2;
    if (parts[1] && *parts[1] && parse_ms(parts[1], &out->down_ms)) {
        snprintf(err, errlen, "'%s': DOWN is not a time", s);
        return -EINVAL;
    }
    if (out->down_ms == 0 || out->down_ms >= out->period_ms) {
        snprintf(err, errlen, "'%s': DOWN must be above 0 and below PERIOD", s);
        return -EINVAL;
    }
    if (parts[2] && *parts[2]) {
        char *end;
        unsigned long c = strtoul(parts[2], &end, 10);
        if (*end || c > 10000000 || parts[2][0] == '-') {
            snprintf(err, errlen, "'%s': COUNT is not a number", s);
            return -EINVAL;
        }
        out->count = (unsigned)c;
    }
    if (parts[3] && *parts[3] && parse_ms(parts[3], &out->jitter_ms)) {
        snprintf(err, errlen, "'%s': JITTER is not a time", s);
        return -EINVAL;
    }
    if (out->jitter_ms >= out->down_ms || out->jitter_ms >= out->period_ms - out->down_ms) {
        snprintf(err, errlen, "'%s': JITTER must stay below DOWN and PERIOD-DOWN", s);
        return -EINVAL;
    }
    return 0;
}

static unsigned jittered(struct link_flapper *lf, unsigned ms)
{
    unsigned j = lf->f.jitter_ms;

    return j ? ms - j + prng_below(&lf->rng, 2 * j + 1) : ms;
}

static void arm(struct link_flapper *lf, unsigned ms)
{
    struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};

    evtimer_add(lf->ev, &tv);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct link_flapper *lf = arg;

    (void)fd, (void)what;
    if (!lf->down) {
        lf->set(false, lf->arg);
        lf->down = true;
        arm(lf, jittered(lf, lf->f.down_ms));
        return;
    }
    lf->set(true, lf->arg);
    lf->down = false;
    lf->cycles++;
    if (lf->f.count && lf->cycles >= lf->f.count)
        return; /* done: the cable stays in */
    arm(lf, jittered(lf, lf->f.period_ms - lf->f.down_ms));
}

/* Start flapping on BASE; the first pull comes one up-time from now. NULL
 * on allocation failure. */
struct link_flapper *link_flapper_start(struct event_base *base, const struct link_flap *f,
                                        uint64_t seed, link_set_cb set, void *arg)
{
    struct link_flapper *lf = calloc(1, sizeof(*lf));

    if (!lf)
        return NULL;
    lf->f = *f;
    lf->set = set;
    lf->arg = arg;
    prng_seed(&lf->rng, seed, PRNG_STREAM_LINK);
    lf->ev = evtimer_new(base, tick, lf);
    if (!lf->ev) {
        free(lf);
        return NULL;
    }
    arm(lf, jittered(lf, f->period_ms - f->down_ms));
    return lf;
}

/* Stop; if the cable is out it is plugged back. */
void link_flapper_free(struct link_flapper *lf)
{
    if (!lf)
        return;
    event_free(lf->ev);
    if (lf->down)
        lf->set(true, lf->arg);
    free(lf);
}

unsigned link_flapper_cycles(const struct link_flapper *lf)
{
    return lf->cycles;
}
