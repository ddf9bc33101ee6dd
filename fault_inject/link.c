/* SPDX-License-Identifier: MIT */
/* Link flap schedules on the main event loop: the cable stays in for an up
 * time, is pulled for a down time, and is plugged again, COUNT times. Each
 * up and down time is drawn from its range with the --seed's LINK stream:
 * the periodic mode's ranges are PERIOD-DOWN and DOWN, each +-JITTER; the
 * random mode's are given. One timer serves both modes. Every edge the
 * schedule makes is a "link-flap" event recording the time drawn for it.
 * The link change itself (lwIP's link state and the host's carrier
 * together) is the caller's set_link callback. */
#define _GNU_SOURCE
#include "fault_inject/link.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/events.h"
#include "base/log.h"

struct link_flapper {
    struct link_schedule sched;
    struct event *ev;
    link_set_cb set;
    void *arg;
    bool down; /* the cable is out now */
    unsigned cycles;
};

static int parse_ms(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || v > 3600000)
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

static int parse_count(const char *s, unsigned *out)
{
    char *end;
    unsigned long c;

    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    c = strtoul(s, &end, 10);
    if (errno || *end || c > 10000000)
        return -EINVAL;
    *out = (unsigned)c;
    return 0;
}

/* MIN-MAX, or one time for both. S is cut at the dash. */
static int parse_range(char *s, unsigned *min, unsigned *max)
{
    char *dash = strchr(s, '-');

    if (dash)
        *dash = '\0';
    if (parse_ms(s, min) || parse_ms(dash ? dash + 1 : s, max))
        return -EINVAL;
    return 0;
}

/* PERIOD[:DOWN[:COUNT[:JITTER]]] from PARTS[0..N). */
static int parse_periodic(const char *s, char **parts, int n, struct link_flap *out, char *err,
                          size_t errlen)
{
    unsigned period, down, jitter = 0;

    if (parse_ms(parts[0], &period) || period < 2) {
        snprintf(err, errlen, "'%s': PERIOD must be a time of at least 2 ms", s);
        return -EINVAL;
    }
    down = period / 2;
    if (n > 1 && *parts[1] && parse_ms(parts[1], &down)) {
        snprintf(err, errlen, "'%s': DOWN is not a time", s);
        return -EINVAL;
    }
    if (down == 0 || down >= period) {
        snprintf(err, errlen, "'%s': DOWN must be above 0 and below PERIOD", s);
        return -EINVAL;
    }
    if (n > 2 && *parts[2] && parse_count(parts[2], &out->count)) {
        snprintf(err, errlen, "'%s': COUNT is not a number", s);
        return -EINVAL;
    }
    if (n > 3 && *parts[3] && parse_ms(parts[3], &jitter)) {
        snprintf(err, errlen, "'%s': JITTER is not a time", s);
        return -EINVAL;
    }
    if (jitter >= down || jitter >= period - down) {
        snprintf(err, errlen, "'%s': JITTER must stay below DOWN and PERIOD-DOWN", s);
        return -EINVAL;
    }
    out->mode = LINK_FLAP_PERIODIC;
    out->up_min_ms = period - down - jitter;
    out->up_max_ms = period - down + jitter;
    out->down_min_ms = down - jitter;
    out->down_max_ms = down + jitter;
    return 0;
}

/* random:UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX[:COUNT] from PARTS[0..N). */
static int parse_random(const char *s, char **parts, int n, struct link_flap *out, char *err,
                        size_t errlen)
{
    static const char *const name[2] = {"UP", "DOWN"};
    unsigned *min[2] = {&out->up_min_ms, &out->down_min_ms};
    unsigned *max[2] = {&out->up_max_ms, &out->down_max_ms};

    if (n < 3) {
        snprintf(err, errlen, "'%s': random needs UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX[:COUNT]", s);
        return -EINVAL;
    }
    for (int i = 0; i < 2; i++) {
        if (parse_range(parts[i + 1], min[i], max[i])) {
            snprintf(err, errlen, "'%s': %s is not a time or a range of times MIN-MAX", s, name[i]);
            return -EINVAL;
        }
        if (*min[i] == 0) {
            snprintf(err, errlen, "'%s': %s times must be at least 1 ms", s, name[i]);
            return -EINVAL;
        }
        if (*min[i] > *max[i]) {
            snprintf(err, errlen, "'%s': %s range %u-%u ms runs backwards (MIN above MAX)", s,
                     name[i], *min[i], *max[i]);
            return -EINVAL;
        }
    }
    if (n > 3 && *parts[3] && parse_count(parts[3], &out->count)) {
        snprintf(err, errlen, "'%s': COUNT is not a number", s);
        return -EINVAL;
    }
    out->mode = LINK_FLAP_RANDOM;
    return 0;
}

/* Parse a schedule: PERIOD[:DOWN[:COUNT[:JITTER]]], or
 * random:UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX[:COUNT]. Times are milliseconds,
 * or with "ms"/"s"; a random range may be one time (no draw). DOWN defaults
 * to half the period; COUNT 0 or absent: until stopped. 0, or -EINVAL with
 * ERR naming the problem (OUT is then undefined). */
int link_flap_parse(const char *s, struct link_flap *out, char *err, size_t errlen)
{
    char buf[128];
    char *parts[4];
    char *p = buf, *tok;
    int n = 0;

    memset(out, 0, sizeof(*out));
    if (strlen(s) >= sizeof(buf)) {
        snprintf(err, errlen, "'%s' is too long", s);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    while ((tok = strsep(&p, ":")) != NULL) {
        if (n == 4) {
            snprintf(err, errlen, "'%s': too many fields (at most 4)", s);
            return -EINVAL;
        }
        parts[n++] = tok;
    }
    if (strcmp(parts[0], "random") == 0)
        return parse_random(s, parts, n, out, err, errlen);
    return parse_periodic(s, parts, n, out, err, errlen);
}

/* Start schedule S of F from SEED (the LINK stream: the same seed, the
 * same durations). */
void link_schedule_init(struct link_schedule *s, const struct link_flap *f, uint64_t seed)
{
    s->f = *f;
    prng_seed(&s->rng, seed, PRNG_STREAM_LINK);
}

/* The next time, in ms, the cable stays in (UP) or out: uniform in the up
 * or down range, inclusive. A range of one value takes no draw. */
unsigned link_schedule_next(struct link_schedule *s, bool up)
{
    unsigned min = up ? s->f.up_min_ms : s->f.down_min_ms;
    unsigned max = up ? s->f.up_max_ms : s->f.down_max_ms;

    return min == max ? min : min + prng_below(&s->rng, max - min + 1);
}

static void arm(struct link_flapper *lf, unsigned ms)
{
    struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};

    evtimer_add(lf->ev, &tv);
}

/* The cable went in (UP) or out in cycle CYCLE, to stay so HOLD_MS. */
static void record(bool up, unsigned cycle, unsigned hold_ms)
{
    events_emit("link-flap", "\"state\":\"%s\",\"cycle\":%u,\"hold_ms\":%u", up ? "up" : "down",
                cycle, hold_ms);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct link_flapper *lf = arg;
    unsigned ms;

    (void)fd, (void)what;
    if (!lf->down) {
        lf->set(lf->arg, false);
        lf->down = true;
        ms = link_schedule_next(&lf->sched, false);
        record(false, lf->cycles + 1, ms);
        arm(lf, ms);
        return;
    }
    lf->set(lf->arg, true);
    lf->down = false;
    lf->cycles++;
    if (lf->sched.f.count && lf->cycles >= lf->sched.f.count) {
        /* done: the cable stays in */
        events_emit("link-flap", "\"state\":\"up\",\"cycle\":%u,\"end\":\"count\"", lf->cycles);
        return;
    }
    ms = link_schedule_next(&lf->sched, true);
    record(true, lf->cycles, ms);
    arm(lf, ms);
}

/* Start flapping on BASE with the durations drawn from SEED; the first
 * pull comes one up time from now (recorded as cycle 0, with the
 * schedule). NULL after logging why. */
struct link_flapper *link_flapper_start(struct event_base *base, const struct link_flap *f,
                                        uint64_t seed, link_set_cb set, void *arg)
{
    struct link_flapper *lf = calloc(1, sizeof(*lf));
    unsigned ms;

    if (!lf) {
        log_err("link", "link flapper: out of memory");
        return NULL;
    }
    link_schedule_init(&lf->sched, f, seed);
    lf->set = set;
    lf->arg = arg;
    lf->ev = evtimer_new(base, tick, lf);
    if (!lf->ev) {
        log_err("link", "link flapper: cannot make its timer");
        free(lf);
        return NULL;
    }
    ms = link_schedule_next(&lf->sched, true);
    events_emit("link-flap",
                "\"state\":\"up\",\"cycle\":0,\"hold_ms\":%u,\"mode\":\"%s\",\"up_ms\":[%u,%u],"
                "\"down_ms\":[%u,%u],\"count\":%u",
                ms, f->mode == LINK_FLAP_RANDOM ? "random" : "periodic", f->up_min_ms, f->up_max_ms,
                f->down_min_ms, f->down_max_ms, f->count);
    arm(lf, ms);
    return lf;
}

/* Stop; if the cable is out it is plugged back. */
void link_flapper_free(struct link_flapper *lf)
{
    if (!lf)
        return;
    event_free(lf->ev);
    if (lf->down) {
        lf->set(lf->arg, true);
        events_emit("link-flap", "\"state\":\"up\",\"cycle\":%u,\"end\":\"stop\"", lf->cycles + 1);
    }
    free(lf);
}

unsigned link_flapper_cycles(const struct link_flapper *lf)
{
    return lf->cycles;
}
