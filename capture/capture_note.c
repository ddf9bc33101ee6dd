/* SPDX-License-Identifier: MIT */
/* Events as frame comments (pcapng) and the fault notes that travel with a
 * frame.
 *
 * Design note
 * -----------
 * A fault rule that acts on a frame does not record its event at once: it
 * notes the act in the frame's capture_note, and the event is recorded when
 * the capture writes the frame (under the writer lock), so that it can
 * carry the frame's number in the file ("frame", as Wireshark numbers it)
 * and its stamp ("frame_ts"), and, in pcapng, be a comment on that very
 * frame. Every other event (link edges, marks, IRQ faults, a held frame's
 * fault) becomes a comment on the next frame written after it: the writer
 * remembers the next event it has not attached yet and, at each frame,
 * attaches those recorded since.
 */
#define _GNU_SOURCE
#include "capture/capture_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/events.h"

#define ATTACH_MAX 32 /* events on one frame; older ones are counted only */

/* Note that fault rule RULE (written TEXT) did WHAT to the frame, the
 * MATCH-th it matched. Acts past CAPTURE_NOTE_ACTS are dropped (the rule's
 * counters still count them). */
void capture_note_add(struct capture_note *n, unsigned rule, const char *what, uint64_t match,
                      const char *text)
{
    struct capture_act *a;

    if (n->nacts >= CAPTURE_NOTE_ACTS)
        return;
    a = &n->acts[n->nacts++];
    a->rule = rule;
    a->what = what;
    a->match = match;
    snprintf(a->text, sizeof(a->text), "%s", text ? text : "");
}

/* Append a comment (formatted, cut to PCAPNG_COMMENT_LEN) to CM, if room. */
void capture_comment_add(struct capture_comments *cm, const char *fmt, ...)
{
    va_list ap;

    if (cm->n >= PCAPNG_COMMENTS)
        return;
    va_start(ap, fmt);
    vsnprintf(cm->text[cm->n++], PCAPNG_COMMENT_LEN, fmt, ap);
    va_end(ap);
}

/* The capture records the fault events that name a frame itself: they are
 * on their own frame already. */
static bool own_event(const struct events_record *r)
{
    return strcmp(r->type, "fault") == 0 && strstr(r->text, "\"frame\":");
}

/* Attach to CM, as comments, the events recorded from sequence number NEXT
 * on (one JSON line each, as in the events log). Returns the next one to
 * attach to a later frame: an event still being recorded stops the walk,
 * to be attached to the next frame. */
uint64_t capture_events_attach(struct capture_comments *cm, uint64_t next)
{
    uint64_t last = events_count();
    struct events_record r;

    if (next == 0)
        next = 1;
    if (last >= next && last - next >= ATTACH_MAX) {
        uint64_t skip = last - next + 1 - ATTACH_MAX;
        capture_comment_add(cm, "lwipd: %llu earlier events not shown (see the events log)",
                            (unsigned long long)skip);
        next += skip;
    }
    for (; next <= last; next++) {
        if (events_get(next, &r) != 0)
            break;
        if (own_event(&r) || cm->n >= PCAPNG_COMMENTS)
            continue;
        events_format(&r, cm->text[cm->n++], PCAPNG_COMMENT_LEN);
    }
    return next;
}

static const char *verb(const char *what)
{
    static const struct {
        const char *what, *verb;
    } v[] = {
        {"drop", "dropped"},   {"drop-burst", "dropped (burst)"}, {"rate-drop", "dropped (rate)"},
        {"dup", "duplicated"}, {"corrupt", "corrupted"},          {"truncate", "truncated"},
        {"delay", "delayed"},  {"reorder", "reordered"},          {"rate-queue", "queued (rate)"}};

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (strcmp(v[i].what, what) == 0)
            return v[i].verb;
    return what;
}

/* Record the "fault" event of each act in N, the frame having gone in
 * direction DIR and, when N->frame is not 0, been written as that frame
 * with stamp N->ts_ns. With CM (pcapng), each event and a sentence saying
 * what happened to the frame become its comments. */
void capture_note_events(struct capture_note *n, enum capture_dir dir, struct capture_comments *cm)
{
    const char *d = dir == CAPTURE_IN ? "rx" : "tx";

    for (unsigned i = 0; i < n->nacts; i++) {
        const struct capture_act *a = &n->acts[i];
        struct events_record r;
        uint64_t seq;

        if (n->frame)
            seq = events_emit("fault",
                              "\"dir\":\"%s\",\"rule\":%u,\"action\":\"%s\",\"match\":%llu,"
                              "\"frame\":%llu,\"frame_ts\":%llu",
                              d, a->rule, a->what, (unsigned long long)a->match,
                              (unsigned long long)n->frame, (unsigned long long)n->ts_ns);
        else
            seq =
                events_emit("fault", "\"dir\":\"%s\",\"rule\":%u,\"action\":\"%s\",\"match\":%llu",
                            d, a->rule, a->what, (unsigned long long)a->match);
        if (!cm)
            continue;
        capture_comment_add(cm, "%s by fault rule %u (%s)%s", verb(a->what), a->rule, a->text,
                            n->unsent ? ": never reached the TAP"
                            : dir == CAPTURE_IN && strstr(a->what, "drop") ? ": lwIP never got it"
                                                                           : "");
        if (events_get(seq, &r) == 0 && cm->n < PCAPNG_COMMENTS)
            events_format(&r, cm->text[cm->n++], PCAPNG_COMMENT_LEN);
    }
    if (cm && n->comment[0])
        capture_comment_add(cm, "%s", n->comment);
}

/* Record the events of N's acts for a frame that no capture wrote (no
 * capture, or stopped, or the frame left out): without a frame number. */
void capture_note_emit(struct capture_note *n, enum capture_dir dir)
{
    n->frame = 0;
    capture_note_events(n, dir, NULL);
}
