/* SPDX-License-Identifier: MIT */
/* The fault injector.
 *
 * Design note
 * -----------
 * Rules live in one list per direction (rx, tx, irq), each run by exactly
 * one thread at a time (the RX thread; the DMA thread or linkoutput under
 * lwIP's core lock; the DMA thread for IRQs). That thread alone updates a
 * rule's state (burst state, token clock, counters), so the per-frame path
 * takes only a read lock, and none at all while a direction has no rules.
 * The control thread adds and removes rules under the write lock.
 *
 * Every decision draws from that direction's own PRNG stream, derived from
 * the one --seed, once per rule that matched: the same seed and the same
 * frames give the same decisions, whatever the other directions do.
 *
 * Frames that must come out later (delay, reorder, rate) are copied into the
 * delay line (delay.c), a time-ordered heap served by one thread, which
 * hands them back through fault_io. The IRQ direction's decisions are
 * fault_irq.c's; the two files share fault_priv.h. RX frames are modified in
 * place (they are still the driver's); TX frames belong to lwIP (TCP may
 * retransmit them), so a modified TX frame is a copy.
 * A dup rule's copies are fault_copy.c's: they follow their own frame.
 */
#define _GNU_SOURCE
#include "fault_inject/fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/events.h"
#include "fault_inject/alloc.h"
#include "fault_inject/delay.h"
#include "fault_inject/fault_priv.h"
#include "fault_inject/prng.h"
#include "base/log.h"
#include "base/base.h"

#define SHAPER_MAX_NS  200000000ull /* rate: queue at most 200 ms, then drop */
#define REORDER_MAX_NS 100000000ull /* a held frame goes out after 100 ms anyway */

/* The delay line's thread: a held frame is due. A TX frame is stamped as it
 * leaves (ts 0), its capture comment saying where it was. */
static void release(void *arg, enum fault_dir dir, const uint8_t *data, size_t len)
{
    struct fault *f = arg;

    if (dir == FAULT_RX) {
        if (f->io.rx_deliver)
            f->io.rx_deliver(f->io.arg, data, len);
    } else if (f->io.tx_write) {
        struct capture_note note = {.nacts = 0};

        snprintf(note.comment, sizeof(note.comment),
                 "held by a fault rule (delay, reorder or rate): out now");
        f->io.tx_write(f->io.arg, data, len, 0, &note);
    }
}

/* ---- rules ---------------------------------------------------------------- */

/* Make an injector; decisions are seeded by SEED. Starts the delay line's
 * thread. NULL after logging why. */
struct fault *fault_new(uint64_t seed)
{
    struct fault *f = calloc(1, sizeof(*f));

    if (!f) {
        log_err("fault", "out of memory");
        return NULL;
    }
    f->delay = delay_new(release, f);
    f->alloc = alloc_set_new(seed);
    if (!f->delay || !f->alloc) {
        delay_free(f->delay);
        alloc_set_free(f->alloc);
        free(f);
        return NULL;
    }
    for (int d = 0; d < 3; d++) {
        pthread_rwlock_init(&f->dir[d].lock, NULL);
        prng_seed(&f->dir[d].rng, seed,
                  d == FAULT_RX   ? PRNG_STREAM_RX
                  : d == FAULT_TX ? PRNG_STREAM_TX
                                  : PRNG_STREAM_IRQ);
    }
    pthread_mutex_init(&f->id_lock, NULL);
    return f;
}

/* How delayed, duplicated and rewritten frames go out (before any rule). */
void fault_set_io(struct fault *f, const struct fault_io *io)
{
    f->io = *io;
}

/* Stop the delay line (held frames are dropped) and free everything. */
void fault_free(struct fault *f)
{
    if (!f)
        return;
    delay_free(f->delay);
    fault_clear(f);
    alloc_set_free(f->alloc);
    free(f);
}

/* Parse TEXT and append it to its direction's rules. Returns the new rule's
 * id (>0), or -EINVAL (ERR says why) / -ENOSPC; nothing changes on error. */
int fault_add(struct fault *f, const char *text, char *err, size_t errlen)
{
    struct fault_rule *r = calloc(1, sizeof(*r));
    struct dirstate *ds;
    int ret;

    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    ret = fault_rule_parse(text, r, err, errlen);
    if (ret) {
        free(r);
        return ret;
    }
    if (r->dir == FAULT_ALLOC) /* not a frame direction: fault_alloc.c */
        return fault_add_alloc(f, r, err, errlen);
    ds = &f->dir[r->dir];
    pthread_rwlock_wrlock(&ds->lock);
    if (ds->nrules == FAULT_RULES_PER_DIR) {
        pthread_rwlock_unlock(&ds->lock);
        snprintf(err, errlen, "at most %d %s rules", FAULT_RULES_PER_DIR, fault_dir_name(r->dir));
        fault_rule_release(r);
        free(r);
        return -ENOSPC;
    }
    r->tokens_ns = base_now_ns();
    pthread_mutex_lock(&f->id_lock);
    r->id = ++f->next_id;
    pthread_mutex_unlock(&f->id_lock);
    ds->rules[ds->nrules++] = r;
    atomic_store(&ds->active, ds->nrules);
    pthread_rwlock_unlock(&ds->lock);
    events_emit("fault-rule", "\"op\":\"add\",\"id\":%u,\"dir\":\"%s\",\"action\":\"%s\"", r->id,
                fault_dir_name(r->dir), fault_action_name(r->action));
    if (r->both) { /* "both ...": the tx twin too, or neither */
        char tx[sizeof(r->text)];
        int id = (int)r->id, twin;

        snprintf(tx, sizeof(tx), "tx%s", r->text + 2);
        twin = fault_add(f, tx, err, errlen);
        if (twin < 0)
            fault_del(f, (unsigned)id);
        return twin < 0 ? twin : id;
    }
    return (int)r->id;
}

/* Remove rule ID. 0 or -ENOENT. */
int fault_del(struct fault *f, unsigned id)
{
    if (alloc_set_del(f->alloc, id) == 0)
        return 0;
    for (int d = 0; d < 3; d++) {
        struct dirstate *ds = &f->dir[d];

        pthread_rwlock_wrlock(&ds->lock);
        for (int i = 0; i < ds->nrules; i++) {
            if (ds->rules[i]->id != id)
                continue;
            struct fault_rule *r = ds->rules[i];
            memmove(&ds->rules[i], &ds->rules[i + 1],
                    (size_t)(ds->nrules - i - 1) * sizeof(ds->rules[0]));
            ds->nrules--;
            atomic_store(&ds->active, ds->nrules);
            pthread_rwlock_unlock(&ds->lock);
            fault_rule_release(r);
            free(r);
            events_emit("fault-rule", "\"op\":\"del\",\"id\":%u", id);
            return 0;
        }
        pthread_rwlock_unlock(&ds->lock);
    }
    return -ENOENT;
}

/* Remove every rule. */
void fault_clear(struct fault *f)
{
    for (int d = 0; d < 3; d++) {
        struct dirstate *ds = &f->dir[d];

        pthread_rwlock_wrlock(&ds->lock);
        for (int i = 0; i < ds->nrules; i++) {
            fault_rule_release(ds->rules[i]);
            free(ds->rules[i]);
        }
        ds->nrules = 0;
        atomic_store(&ds->active, 0);
        pthread_rwlock_unlock(&ds->lock);
    }
    alloc_set_clear(f->alloc);
}

/* Copy up to MAX rules (rx, tx, irq, alloc order) into OUT. Returns how many. */
size_t fault_list(struct fault *f, struct fault_rule_info *out, size_t max)
{
    size_t n = 0;

    for (int d = 0; d < 3; d++) {
        struct dirstate *ds = &f->dir[d];

        pthread_rwlock_rdlock(&ds->lock);
        for (int i = 0; i < ds->nrules && n < max; i++, n++) {
            out[n].id = ds->rules[i]->id;
            snprintf(out[n].text, sizeof(out[n].text), "%s", ds->rules[i]->text);
            out[n].matched = atomic_load(&ds->rules[i]->matched);
            out[n].acted = atomic_load(&ds->rules[i]->acted);
        }
        pthread_rwlock_unlock(&ds->lock);
    }
    return n + fault_list_alloc(f, out + n, max - n);
}

void fault_get_stats(struct fault *f, struct fault_stats *out)
{
    struct delay_stats ds;

    delay_get_stats(f->delay, &ds);
    out->delayed_now = ds.held;
    out->delay_overflow = ds.overflow;
    out->released = ds.released;
}

/* ---- per frame ------------------------------------------------------------ */

/* Count that rule R acted (WHAT: "drop", "late", ...). With NOTE (the
 * frame's), the act is noted there and its "fault" event recorded when the
 * capture writes the frame (capture_note_events()), with the frame's
 * number and stamp; without (an IRQ decision), the event is recorded now. */
void fault_acted(struct fault_rule *r, enum fault_dir dir, const char *what,
                 struct capture_note *note)
{
    uint64_t n = atomic_fetch_add_explicit(&r->acted, 1, memory_order_relaxed) + 1;
    /* match: the how-manyeth frame this rule matched: equal in two runs with
     * the same seed and input, whatever else crossed the link */
    uint64_t match = atomic_load_explicit(&r->matched, memory_order_relaxed);

    if (note) {
        capture_note_add(note, r->id, what, match, r->text);
    } else if (dir == FAULT_IRQ) {
        events_emit("fault", "\"dir\":\"%s\",\"rule\":%u,\"action\":\"%s\",\"n\":%llu",
                    fault_dir_name(dir), r->id, what, (unsigned long long)n);
    } else {
        events_emit("fault", "\"dir\":\"%s\",\"rule\":%u,\"action\":\"%s\",\"match\":%llu",
                    fault_dir_name(dir), r->id, what, (unsigned long long)match);
    }
}

/* Rate: a virtual-clock shaper. Returns 0 to pass now, a due time to hold
 * the frame until, or UINT64_MAX to drop it (more than 200 ms queued). */
static uint64_t shape(struct fault_rule *r, size_t len, uint64_t now)
{
    uint64_t burst_ns = r->burst_bytes * 8ull * 1000000000ull / r->rate_bps;
    uint64_t tx_ns = (uint64_t)len * 8ull * 1000000000ull / r->rate_bps;
    uint64_t start = r->tokens_ns; /* when the shaped link is free */

    if (start + burst_ns < now)
        start = now - burst_ns;
    if (start > now + SHAPER_MAX_NS)
        return UINT64_MAX;
    r->tokens_ns = start + tx_ns;
    return start <= now ? 0 : start;
}

static uint64_t frame_now(struct fault_frame *fm)
{
    if (!fm->now)
        fm->now = base_now_ns();
    return fm->now;
}

/* Hand the frame to the delay line until DUE_NS (or LEFT other frames
 * passed): FAULT_TAKEN, or FAULT_DROP when the line is full. */
static enum fault_verdict frame_hold(struct fault_frame *fm, uint64_t due_ns, unsigned left)
{
    if (delay_hold(fm->f->delay, fm->dir, fm->data, *fm->len, due_ns, left) != 0)
        return FAULT_DROP;
    fm->held = true;
    fm->hold_due = due_ns;
    fm->hold_left = left;
    return FAULT_TAKEN;
}

/* drop P%, drop every N, drop gilbert. */
static enum fault_verdict rule_drop(struct fault_frame *fm, struct fault_rule *r)
{
    struct dirstate *ds = fm->ds;
    const char *what = "drop";
    bool drop;

    switch (r->action) {
    case FA_DROP:
        drop = fault_coin(ds, r->p);
        break;
    case FA_DROP_EVERY:
        drop = ++r->seen % r->n == 0;
        break;
    default: /* FA_DROP_GILBERT: move between the good and bad states, then draw */
        if (r->ge_bad ? fault_coin(ds, r->ge_r) : fault_coin(ds, r->ge_p))
            r->ge_bad = !r->ge_bad;
        drop = fault_coin(ds, r->ge_bad ? r->ge_h : r->ge_k);
        if (r->ge_bad)
            what = "drop-burst";
        break;
    }
    if (!drop)
        return FAULT_PASS;
    fault_acted(r, fm->dir, what, fm->note);
    return FAULT_DROP;
}

/* dup P%: note a copy of the frame as it stands, to go out right behind it
 * (fault_copy_send); the frame goes on through the rules. */
static void rule_dup(struct fault_frame *fm, struct fault_rule *r)
{
    if (!fault_coin(fm->ds, r->p))
        return;
    fault_acted(r, fm->dir, "dup", fm->note);
    fault_copy_add(fm, r->id);
}

/* corrupt bits, corrupt bytes, truncate: change the frame in place. */
static void rule_rewrite(struct fault_frame *fm, struct fault_rule *r)
{
    struct dirstate *ds = fm->ds;
    size_t len = *fm->len;
    const char *what = "corrupt";

    if (!fault_coin(ds, r->p))
        return;
    switch (r->action) {
    case FA_CORRUPT_BITS:
        if (len == 0)
            return;
        fault_copy_keep(fm);
        for (unsigned k = 0; k < r->n; k++) {
            uint32_t bit = prng_below(&ds->rng, (uint32_t)(len * 8));
            fm->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        break;
    case FA_CORRUPT_BYTES:
        if (r->lo >= len)
            return;
        fault_copy_keep(fm);
        /* each byte gets another random value, never its own: an acted
         * corrupt rule has always changed the frame */
        for (size_t k = r->lo, hi = r->hi < len ? r->hi : len - 1; k <= hi; k++)
            fm->data[k] ^= (uint8_t)(1u + prng_below(&ds->rng, 255));
        break;
    default: /* FA_TRUNCATE */
        if (r->n >= len)
            return;
        fault_copy_keep(fm);
        *fm->len = r->n;
        what = "truncate";
        break;
    }
    fm->modified = 1;
    fault_acted(r, fm->dir, what, fm->note);
}

/* delay, reorder, rate: hold the frame, pass it, or (rate) drop it. */
static enum fault_verdict rule_hold(struct fault_frame *fm, struct fault_rule *r)
{
    struct dirstate *ds = fm->ds;
    uint64_t d, due;

    switch (r->action) {
    case FA_DELAY:
        if (!fault_coin(ds, r->p))
            return FAULT_PASS;
        d = r->t_ns;
        if (r->jitter_ns)
            d = d - r->jitter_ns + (uint64_t)(prng_unit(&ds->rng) * 2.0 * (double)r->jitter_ns);
        fault_acted(r, fm->dir, "delay", fm->note);
        return frame_hold(fm, frame_now(fm) + d, 0);
    case FA_REORDER:
        if (!fault_coin(ds, r->p))
            return FAULT_PASS;
        fault_acted(r, fm->dir, "reorder", fm->note);
        return frame_hold(fm, frame_now(fm) + REORDER_MAX_NS, r->n);
    default: /* FA_RATE */
        due = shape(r, *fm->len, frame_now(fm));
        if (due == UINT64_MAX) {
            fault_acted(r, fm->dir, "rate-drop", fm->note);
            return FAULT_DROP;
        }
        if (!due)
            return FAULT_PASS;
        fault_acted(r, fm->dir, "rate-queue", fm->note);
        return frame_hold(fm, due, 0);
    }
}

/* Run FM's direction's rules over it, in order, until one decides its fate.
 * Rules may change FM's bytes and length (FM->modified says so). Returns the
 * verdict; with FAULT_TAKEN the frame was copied into the delay line. */
static enum fault_verdict run(struct fault_frame *fm)
{
    struct dirstate *ds = fm->ds;
    enum fault_verdict v = FAULT_PASS;

    pthread_rwlock_rdlock(&ds->lock);
    for (int i = 0; i < ds->nrules && v == FAULT_PASS; i++) {
        struct fault_rule *r = ds->rules[i];

        if (!fault_rule_match(r, fm->data, *fm->len))
            continue;
        atomic_fetch_add_explicit(&r->matched, 1, memory_order_relaxed);
        switch (r->action) {
        case FA_DROP:
        case FA_DROP_EVERY:
        case FA_DROP_GILBERT:
            v = rule_drop(fm, r);
            break;
        case FA_DUP:
            rule_dup(fm, r);
            break;
        case FA_CORRUPT_BITS:
        case FA_CORRUPT_BYTES:
        case FA_TRUNCATE:
            rule_rewrite(fm, r);
            break;
        case FA_DELAY:
        case FA_REORDER:
        case FA_RATE:
            v = rule_hold(fm, r);
            break;
        default:
            break;
        }
    }
    pthread_rwlock_unlock(&ds->lock);
    return v;
}

static size_t gather(const struct iovec *iov, int iovcnt, uint8_t *buf, size_t len)
{
    size_t off = 0;

    for (int i = 0; i < iovcnt && off < len; i++) {
        size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;
        memcpy(buf + off, iov[i].iov_base, n);
        off += n;
    }
    return off;
}

/* True when DIR has rules: a frame may be acted on. */
bool fault_active(struct fault *f, enum fault_dir dir)
{
    return atomic_load_explicit(&f->dir[dir].active, memory_order_relaxed) != 0;
}

/* Host -> lwIP: a frame read from the TAP, LEN bytes in IOV (the driver's
 * own buffers: may be modified in place, *LEN may shrink). What the rules
 * did is noted in NOTE (NULL: their events are recorded at once): the
 * driver captures the frame with it. A frame
 * that must be followed by copies is handed to fault_io.rx_inline here,
 * then its copies (FAULT_TAKEN): the driver must keep the frames it passes
 * and those rx_inline gets in one line, in the order it gets them. */
enum fault_verdict fault_rx(struct fault *f, struct iovec *iov, int iovcnt, size_t *len,
                            struct capture_note *note)
{
    struct dirstate *ds = &f->dir[FAULT_RX];
    enum fault_verdict v;
    uint8_t *data;

    if (!atomic_load_explicit(&ds->active, memory_order_relaxed) || *len > FRAME_MAX)
        return FAULT_PASS;
    if (iovcnt == 1) {
        data = iov[0].iov_base;
    } else {
        data = ds->scratch;
        gather(iov, iovcnt, data, *len);
    }
    struct fault_frame fm = {
        .f = f, .dir = FAULT_RX, .ds = ds, .data = data, .len = len, .note = note};
    v = run(&fm);
    if (v == FAULT_PASS && fm.ncopies && f->io.rx_inline) {
        f->io.rx_inline(f->io.arg, data, *len); /* the frame, then its copies */
        v = FAULT_TAKEN;
    } else if (fm.modified && data == ds->scratch) {
        size_t off = 0;
        for (int i = 0; i < iovcnt && off < *len; i++) {
            size_t n = iov[i].iov_len < *len - off ? iov[i].iov_len : *len - off;
            memcpy(iov[i].iov_base, data + off, n);
            off += n;
        }
    }
    fault_copy_send(&fm);
    if (!fm.held)
        delay_passed(f->delay, FAULT_RX);
    return v;
}

/* lwIP -> host: LEN bytes in IOV belong to lwIP and stay untouched; a
 * modified frame, or one that copies must follow, is written as a copy
 * through fault_io.tx_write with NOTE, then its copies (FAULT_TAKEN). What
 * the rules did is noted in NOTE (NULL: their events are recorded at once;
 * NOTE->ts_ns: the stamp to give the frame, 0: now). With FAULT_PASS or
 * FAULT_DROP the driver captures the frame with NOTE (a dropped one as
 * unsent); a held frame's acts are recorded here, without a frame. */
enum fault_verdict fault_tx(struct fault *f, const struct iovec *iov, int iovcnt, size_t len,
                            struct capture_note *note)
{
    struct dirstate *ds = &f->dir[FAULT_TX];
    enum fault_verdict v;

    if (!atomic_load_explicit(&ds->active, memory_order_relaxed) || len > FRAME_MAX)
        return FAULT_PASS;
    gather(iov, iovcnt, ds->scratch, len);
    struct fault_frame fm = {
        .f = f, .dir = FAULT_TX, .ds = ds, .data = ds->scratch, .len = &len, .note = note};
    v = run(&fm);
    if (v == FAULT_PASS && (fm.modified || (fm.ncopies && f->io.tx_write))) {
        if (f->io.tx_write)
            f->io.tx_write(f->io.arg, ds->scratch, len, note ? note->ts_ns : 0, note);
        v = FAULT_TAKEN;
    } else if (v == FAULT_TAKEN && note) {
        capture_note_emit(note, CAPTURE_OUT); /* held: not on the TAP now */
        note->nacts = 0;
    }
    fault_copy_send(&fm);
    if (!fm.held)
        delay_passed(f->delay, FAULT_TX);
    return v;
}

/* Add every rule of the file PATH (one per line; blank lines and lines
 * starting with # are skipped). Stops at the first bad line, naming it in
 * ERR as PATH:LINE: reason; rules added before it stay. Returns the number
 * of rules added or -errno. */
int fault_load_file(struct fault *f, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "re");
    char line[1024], why[256];
    int n = 0, lineno = 0;

    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    while (fgets(line, sizeof(line), fp)) {
        char *s = line, *e;

        lineno++;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*s || *s == '#')
            continue;
        int r = fault_add(f, s, why, sizeof(why));
        if (r < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(fp);
            return r;
        }
        n++;
    }
    fclose(fp);
    return n;
}
