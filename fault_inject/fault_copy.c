/* SPDX-License-Identifier: MIT */
/* The fault injector's duplicates: a dup rule's copies of a frame.
 *
 * Design note
 * -----------
 * A duplicate follows its own original, as on a duplicating link (netem's
 * duplicate). A dup rule only notes a copy of the frame as it stands
 * (fault_copy_add); the copies go out once the rules have settled the
 * frame's fate (fault_copy_send): right behind it when it passes (the
 * injector then sends the frame itself, in line, so that nothing comes
 * between them), held with it and released right after it when it is
 * held, in its place when it is dropped. A rule that rewrites the frame
 * after a dup first gives the copies their own bytes (fault_copy_keep), so
 * no copy is made for the common case of nothing rewritten.
 */
#define _GNU_SOURCE
#include "fault_inject/fault_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject/delay.h"

/* Note a copy of FM as it stands; it goes out with fault_copy_send(). */
void fault_copy_add(struct fault_frame *fm, unsigned rule)
{
    fm->copies[fm->ncopies++] = (struct fault_copy){rule, NULL, 0, false};
}

/* A rule is about to rewrite FM: the copies noted so far keep the bytes the
 * frame has now. */
void fault_copy_keep(struct fault_frame *fm)
{
    for (unsigned i = 0; i < fm->ncopies; i++) {
        struct fault_copy *c = &fm->copies[i];

        if (c->data || c->lost)
            continue;
        c->data = malloc(*fm->len ? *fm->len : 1);
        if (!c->data) {
            c->lost = true;
            continue;
        }
        memcpy(c->data, fm->data, *fm->len);
        c->len = *fm->len;
    }
}

/* A tx copy onto the TAP, with its original's stamp (when it was written)
 * and, in a pcapng capture, a comment naming its rule. */
static void send_copy(struct fault_frame *fm, const struct fault_copy *c, const uint8_t *data,
                      size_t len)
{
    struct capture_note note = {.nacts = 0};

    snprintf(note.comment, sizeof(note.comment), "duplicate made by fault rule %u", c->rule);
    fm->f->io.tx_write(fm->f->io.arg, data, len, fm->note ? fm->note->ts_ns : 0, &note);
}

/* FM's fate is settled and, unless held or dropped, it has gone out: its
 * copies go right behind it, in the order their rules acted. Held, they
 * are held with it (same due time, same count of frames to wait for: the
 * line releases them right after it; a full line loses them, counted as
 * overflow); passed or dropped, they go out now, in line. */
void fault_copy_send(struct fault_frame *fm)
{
    const struct fault_io *io = &fm->f->io;

    for (unsigned i = 0; i < fm->ncopies; i++) {
        struct fault_copy *c = &fm->copies[i];
        const uint8_t *data = c->data ? c->data : fm->data;
        size_t len = c->data ? c->len : *fm->len;

        if (c->lost)
            continue;
        if (fm->held)
            (void)delay_hold(fm->f->delay, fm->dir, data, len, fm->hold_due, fm->hold_left);
        else if (fm->dir == FAULT_RX && io->rx_inline)
            io->rx_inline(io->arg, data, len);
        else if (fm->dir == FAULT_TX && io->tx_write)
            send_copy(fm, c, data, len);
        free(c->data);
    }
    fm->ncopies = 0;
}
