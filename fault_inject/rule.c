/* SPDX-License-Identifier: MIT */
/* Fault rule parser (grammar in rule.h). Every error names the offending
 * word; a rule either parses completely or not at all. */
#define _GNU_SOURCE
#include "fault_inject/rule.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/names.h"
#include "fault_inject/alloc_pools.h"

#define MAX_WORDS 12

static const char *const action_names[] = {
    [FA_DROP] = "drop",
    [FA_DROP_EVERY] = "drop every",
    [FA_DROP_GILBERT] = "drop gilbert",
    [FA_DUP] = "dup",
    [FA_CORRUPT_BITS] = "corrupt bits",
    [FA_CORRUPT_BYTES] = "corrupt bytes",
    [FA_TRUNCATE] = "truncate",
    [FA_DELAY] = "delay",
    [FA_REORDER] = "reorder",
    [FA_RATE] = "rate",
    [FA_IRQ_LATE] = "late",
    [FA_IRQ_LOST] = "lost",
    [FA_IRQ_DUP] = "dup",
    [FA_IRQ_SPURIOUS] = "spurious",
    [FA_ALLOC_FAIL] = "fail",
    [FA_ALLOC_FAIL_EVERY] = "fail every",
};

static const char *const dir_names[] = {
    [FAULT_RX] = "rx", [FAULT_TX] = "tx", [FAULT_IRQ] = "irq", [FAULT_ALLOC] = "alloc"};

/* The action's name as rules write it ("drop every"); "?" if none. */
const char *fault_action_name(enum fault_action a)
{
    return names_get(action_names, NAMES_COUNT(action_names), a);
}

/* "rx", "tx", "irq" or "alloc"; "?" if none. */
const char *fault_dir_name(enum fault_dir d)
{
    return names_get(dir_names, NAMES_COUNT(dir_names), d);
}

/* pcap_compile() keeps parser state in the pcap_t; one dead handle, one lock. */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto fail;                                                                                 \
    } while (0)

/* Split TEXT into words; a quoted part ("..." or '...') is one word and
 * must be the last. Returns the word count or -EINVAL (ERR set). */
static int split(char *text, char **words, int *quoted_last, char *err, size_t errlen)
{
    int n = 0;
    char *p = text;

    *quoted_last = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n;
        if (n == MAX_WORDS) {
            snprintf(err, errlen, "too many words");
            return -EINVAL;
        }
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            char *end = strchr(p, q);
            if (!end) {
                snprintf(err, errlen, "unterminated quote in the filter");
                return -EINVAL;
            }
            *end = '\0';
            words[n++] = p;
            p = end + 1;
            while (isspace((unsigned char)*p))
                p++;
            if (*p) {
                snprintf(err, errlen, "nothing may follow the quoted filter: '%s'", p);
                return -EINVAL;
            }
            *quoted_last = 1;
            return n;
        }
        words[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
}

/* "12.5%" -> 0.125. Refuses anything outside 0-100 %. */
static int parse_percent(const char *w, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(w, &end);
    if (errno || end == w || strcmp(end, "%") != 0 || !(v >= 0 && v <= 100)) /* NaN too */
        return -EINVAL;
    *out = v / 100.0;
    return 0;
}

static int is_percent(const char *w)
{
    size_t n = strlen(w);

    return n > 1 && w[n - 1] == '%';
}

/* Is W a whole number such as "1" or "2.5" (a probability missing its %)? */
static int is_number(const char *w)
{
    char *end;

    (void)strtod(w, &end);
    return end != w && *end == '\0';
}

/* "50ms", "200us", "2s", "1500ns" -> ns (a bare number is ms). */
static int parse_time(const char *w, uint64_t *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(w, &end);
    if (errno || end == w || !(v >= 0 && v <= 3600)) /* NaN too (fuzzer find) */
        return -EINVAL;
    if (!*end || strcmp(end, "ms") == 0)
        v *= 1e6;
    else if (strcmp(end, "us") == 0)
        v *= 1e3;
    else if (strcmp(end, "s") == 0)
        v *= 1e9;
    else if (strcmp(end, "ns") != 0)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

/* "10mbit", "500kbit", "1gbit", "64000" (bit/s) -> bit/s. */
static int parse_rate(const char *w, uint64_t *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(w, &end);
    if (errno || end == w || !(v > 0)) /* NaN too */
        return -EINVAL;
    if (strcasecmp(end, "kbit") == 0)
        v *= 1e3;
    else if (strcasecmp(end, "mbit") == 0)
        v *= 1e6;
    else if (strcasecmp(end, "gbit") == 0)
        v *= 1e9;
    else if (*end && strcasecmp(end, "bit") != 0)
        return -EINVAL;
    if (!(v >= 1000 && v <= 1e11))
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

static int parse_uint(const char *w, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(w, &end, 10);
    if (errno || end == w || *end || w[0] == '-' || v < min || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int compile_filter(struct fault_rule *r, char *err, size_t errlen)
{
    pcap_t *dead;
    int ret = 0;

    if (!r->filter[0])
        return 0;
    pthread_mutex_lock(&compile_lock);
    dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (!dead) {
        snprintf(err, errlen, "cannot compile filters (pcap_open_dead failed)");
        ret = -EINVAL;
    } else if (pcap_compile(dead, &r->prog, r->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad filter \"%s\": %s", r->filter, pcap_geterr(dead));
        ret = -EINVAL;
    } else {
        r->has_prog = true;
    }
    if (dead)
        pcap_close(dead);
    pthread_mutex_unlock(&compile_lock);
    return ret;
}

/* alloc fail (P% | every N) (pool=NAME | heap): the words from W[*I] on
 * (the action is W[1]), N words in all. 0, or -EINVAL with ERR set. */
static int parse_alloc(struct fault_rule *out, char **w, int n, int *i, char *err, size_t errlen)
{
    const char *target;

    if (strcmp(w[1], "fail") != 0)
        FAIL("unknown alloc action '%s' (fail)", w[1]);
    if (*i < n && strcmp(w[*i], "every") == 0) {
        out->action = FA_ALLOC_FAIL_EVERY;
        if (++*i >= n || parse_uint(w[*i], 1, 1000000000u, &out->n))
            FAIL("'fail every' needs a count of at least 1, e.g. fail every 10 pool=PBUF_POOL");
    } else {
        out->action = FA_ALLOC_FAIL;
        if (*i >= n)
            FAIL("'fail' needs a probability or 'every N', e.g. fail 5%% pool=TCP_SEG");
        if (!is_percent(w[*i]) && is_number(w[*i]))
            FAIL("probability '%s' needs its %% sign: write %s%%", w[*i], w[*i]);
        if (parse_percent(w[*i], &out->p))
            FAIL("probability '%s' is not between 0%% and 100%%", w[*i]);
    }
    if (++*i >= n)
        FAIL("'fail' needs what fails: pool=NAME or heap");
    target = w[(*i)++];
    if (strcmp(target, "heap") == 0) {
        out->pool = ALLOC_POOL_HEAP;
    } else if (strncmp(target, "pool=", 5) == 0) {
        if (alloc_pool_find(target + 5, &out->pool)) {
            char names[384];

            alloc_pool_names(names, sizeof(names));
            FAIL("no pool '%s' in this lwIP (%s)", target + 5, names);
        }
        w[*i - 1] = (char *)alloc_pool_word(out->pool); /* listed as lwIP spells it */
    } else {
        FAIL("'%s' is not pool=NAME or heap", target);
    }
    return 0;
fail:
    return -EINVAL;
}

/* Parse one rule. On error returns -EINVAL with a message naming the problem
 * in ERR, and OUT holds nothing to release. */
int fault_rule_parse(const char *text, struct fault_rule *out, char *err, size_t errlen)
{
    char buf[512];
    char *w[MAX_WORDS];
    int n, quoted, i = 0;
    const char *filter = "";

    memset(out, 0, sizeof(*out));
    if (strlen(text) >= sizeof(buf)) {
        snprintf(err, errlen, "rule longer than %zu characters", sizeof(buf) - 1);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", text);
    n = split(buf, w, &quoted, err, errlen);
    if (n < 0)
        return -EINVAL;
    if (quoted) {
        filter = w[--n];
        if (strlen(filter) >= sizeof(out->filter))
            FAIL("filter longer than %zu characters", sizeof(out->filter) - 1);
    }
    if (n < 2)
        FAIL("a rule is DIRECTION ACTION [ARGUMENTS] [\"FILTER\"], e.g. tx drop 30%% \"arp\"");

    unsigned dir;
    if (strcmp(w[0], "both") == 0) { /* an rx rule with a tx twin (fault_add) */
        out->both = true;
        w[0] = "rx";
    }
    if (names_find(dir_names, NAMES_COUNT(dir_names), w[0], &dir))
        FAIL("unknown direction '%s' (rx, tx, both, irq or alloc)", w[0]);
    out->dir = (enum fault_dir)dir;
    i = 1;
    /* netem's words for the same actions; listed as ours */
    if (strcmp(w[i], "loss") == 0)
        w[i] = "drop";
    else if (strcmp(w[i], "duplicate") == 0)
        w[i] = "dup";
    const char *act = w[i++];
    out->p = 1.0;

#define NEED(k, what)                                                                              \
    do {                                                                                           \
        if (i + (k) > n)                                                                           \
            FAIL("'%s' needs %s", act, what);                                                      \
    } while (0)
#define OPT_PERCENT()                                                                              \
    do {                                                                                           \
        if (i < n && is_percent(w[i])) {                                                           \
            if (parse_percent(w[i], &out->p))                                                      \
                FAIL("probability '%s' is not between 0%% and 100%%", w[i]);                       \
            i++;                                                                                   \
        }                                                                                          \
    } while (0)
#define PERCENT(dst)                                                                               \
    do {                                                                                           \
        if (!is_percent(w[i]) && is_number(w[i]))                                                  \
            FAIL("probability '%s' needs its %% sign: write %s%%", w[i], w[i]);                    \
        if (parse_percent(w[i], &(dst)))                                                           \
            FAIL("probability '%s' is not between 0%% and 100%%", w[i]);                           \
        i++;                                                                                       \
    } while (0)

    if (out->dir == FAULT_ALLOC) {
        if (parse_alloc(out, w, n, &i, err, errlen))
            goto fail;
    } else if (out->dir == FAULT_IRQ) {
        if (filter[0])
            FAIL("irq rules take no filter");
        if (strcmp(act, "late") == 0) {
            out->action = FA_IRQ_LATE;
            NEED(1, "a time, e.g. late 200us");
            if (parse_time(w[i++], &out->t_ns) || out->t_ns == 0)
                FAIL("'%s' is not a time like 200us", w[i - 1]);
            OPT_PERCENT();
        } else if (strcmp(act, "lost") == 0 || strcmp(act, "dup") == 0) { /* or "duplicate" */
            out->action = act[0] == 'l' ? FA_IRQ_LOST : FA_IRQ_DUP;
            NEED(1, "a probability, e.g. 10%");
            PERCENT(out->p);
        } else if (strcmp(act, "spurious") == 0) {
            out->action = FA_IRQ_SPURIOUS;
            NEED(1, "a period, e.g. spurious 500us");
            if (parse_time(w[i++], &out->t_ns) || out->t_ns < 10000)
                FAIL("'%s' is not a period of at least 10us", w[i - 1]);
        } else {
            FAIL("unknown irq action '%s' (late, lost, dup, spurious)", act);
        }
    } else if (strcmp(act, "drop") == 0) {
        NEED(1, "a probability, 'every N' or 'gilbert P% R%'");
        if (strcmp(w[i], "every") == 0) {
            out->action = FA_DROP_EVERY;
            i++;
            NEED(1, "N");
            if (parse_uint(w[i++], 1, 1000000000u, &out->n))
                FAIL("'%s' is not a count of at least 1", w[i - 1]);
        } else if (strcmp(w[i], "gilbert") == 0) {
            out->action = FA_DROP_GILBERT;
            i++;
            NEED(2, "P% R% (good->bad, bad->good)");
            PERCENT(out->ge_p);
            PERCENT(out->ge_r);
            out->ge_k = 0;
            out->ge_h = 1;
            if (i + 2 <= n && is_percent(w[i])) {
                PERCENT(out->ge_k);
                PERCENT(out->ge_h);
            }
        } else {
            out->action = FA_DROP;
            PERCENT(out->p);
        }
    } else if (strcmp(act, "dup") == 0) {
        out->action = FA_DUP;
        NEED(1, "a probability");
        PERCENT(out->p);
    } else if (strcmp(act, "corrupt") == 0) {
        out->action = FA_CORRUPT_BITS;
        out->n = 1;
        NEED(1, "a probability");
        PERCENT(out->p);
        if (i < n && strcmp(w[i], "bits") == 0) {
            i++;
            NEED(1, "a number of bits");
            if (parse_uint(w[i++], 1, 64, &out->n))
                FAIL("'%s' is not a number of bits from 1 to 64", w[i - 1]);
        } else if (i < n && strcmp(w[i], "bytes") == 0) {
            out->action = FA_CORRUPT_BYTES;
            i++;
            NEED(1, "a range A-B");
            if (sscanf(w[i], "%u-%u", &out->lo, &out->hi) != 2 || out->lo > out->hi ||
                out->hi > 65535)
                FAIL("'%s' is not a byte range like 14-60", w[i]);
            i++;
        }
    } else if (strcmp(act, "truncate") == 0) {
        out->action = FA_TRUNCATE;
        NEED(2, "a probability and a length");
        PERCENT(out->p);
        if (parse_uint(w[i++], 0, 65535, &out->n))
            FAIL("'%s' is not a length", w[i - 1]);
    } else if (strcmp(act, "delay") == 0) {
        out->action = FA_DELAY;
        NEED(1, "a time, e.g. delay 50ms 10ms");
        if (parse_time(w[i++], &out->t_ns) || out->t_ns > 10000000000ull)
            FAIL("'%s' is not a time up to 10s", w[i - 1]);
        if (i < n && !is_percent(w[i])) {
            if (parse_time(w[i++], &out->jitter_ns) || out->jitter_ns > out->t_ns)
                FAIL("jitter '%s' is not a time up to the delay", w[i - 1]);
        }
        OPT_PERCENT();
    } else if (strcmp(act, "reorder") == 0) {
        out->action = FA_REORDER;
        out->n = 1;
        NEED(1, "a probability");
        PERCENT(out->p);
        if (i < n && parse_uint(w[i++], 1, 64, &out->n))
            FAIL("gap '%s' is not 1-64 frames", w[i - 1]);
    } else if (strcmp(act, "rate") == 0) {
        out->action = FA_RATE;
        NEED(1, "a rate, e.g. rate 10mbit");
        if (parse_rate(w[i++], &out->rate_bps))
            FAIL("'%s' is not a rate like 10mbit (1kbit-100gbit)", w[i - 1]);
        out->burst_bytes = 3028; /* two full frames */
        if (i < n) {
            unsigned b;
            if (parse_uint(w[i++], 64, 100000000u, &b))
                FAIL("burst '%s' is not 64 bytes or more", w[i - 1]);
            out->burst_bytes = b;
        }
        out->tokens = (double)out->burst_bytes;
    } else {
        FAIL("unknown action '%s' (drop or loss, dup or duplicate, corrupt, truncate, delay, "
             "reorder, rate)",
             act);
    }
    if (i != n)
        FAIL("unexpected '%s'%s", w[i], quoted ? "" : " (is it a filter? quote it)");
#undef NEED
#undef OPT_PERCENT
#undef PERCENT

    snprintf(out->filter, sizeof(out->filter), "%s", filter);
    if (compile_filter(out, err, errlen))
        return -EINVAL;
    /* canonical text: the words as given, filter quoted */
    size_t len = 0;
    for (int k = 0; k < n && len < sizeof(out->text); k++)
        len +=
            (size_t)snprintf(out->text + len, sizeof(out->text) - len, "%s%s", k ? " " : "", w[k]);
    if (filter[0] && len < sizeof(out->text))
        snprintf(out->text + len, sizeof(out->text) - len, " \"%s\"", filter);
    return 0;
fail:
    return -EINVAL;
}

void fault_rule_release(struct fault_rule *r)
{
    if (r->has_prog) {
        pcap_freecode(&r->prog);
        r->has_prog = false;
    }
}

/* Does FRAME (LEN bytes, Ethernet) pass R's filter? No filter: yes. */
bool fault_rule_match(const struct fault_rule *r, const uint8_t *frame, size_t len)
{
    struct pcap_pkthdr h;

    if (!r->has_prog)
        return true;
    h.caplen = h.len = (bpf_u_int32)len;
    h.ts.tv_sec = 0;
    h.ts.tv_usec = 0;
    return pcap_offline_filter(&r->prog, &h, frame) != 0;
}
