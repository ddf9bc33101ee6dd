/* SPDX-License-Identifier: MIT */
/* The fault injector's internals, shared by fault.c (the injector, its
 * rule lists and the per-frame decisions), fault_copy.c (a dup rule's
 * copies) and fault_irq.c (the IRQ decisions): one object split over three
 * files, fault_copy.c and fault_irq.c calling into fault.c only through
 * this header (and fault.c into fault_copy.c). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fault_inject/fault.h"
#include "fault_inject/prng.h"

struct alloc_set;
struct delay_line;

#define FRAME_MAX 65536 /* longer frames pass untouched */

/* One direction's rules, run by one thread at a time (design note in
 * fault.c), with its own PRNG stream and a frame-sized scratch buffer. */
struct dirstate {
    pthread_rwlock_t lock;
    struct fault_rule *rules[FAULT_RULES_PER_DIR];
    int nrules;
    atomic_int active;
    struct prng rng;
    uint8_t scratch[FRAME_MAX];
};

struct fault {
    struct dirstate dir[FAULT_IRQ + 1];
    struct fault_io io;
    unsigned next_id;
    pthread_mutex_t id_lock;
    struct delay_line *delay;
    struct alloc_set *alloc; /* the "alloc" rules (alloc.c) */
};

/* True with probability P, drawn from DS's stream. Always draws, so that
 * the stream stays aligned whatever the rule's state. */
static inline bool fault_coin(struct dirstate *ds, double p)
{
    return prng_unit(&ds->rng) < p;
}

void fault_acted(struct fault_rule *r, enum fault_dir dir, const char *what,
                 struct capture_note *note);

/* A dup rule's copy (fault_copy.c), waiting for its frame's fate. DATA is
 * NULL while no later rule changed the frame: the copy is then the frame as
 * it stands. */
struct fault_copy {
    unsigned rule; /* the dup rule's id */
    uint8_t *data; /* its own bytes (malloc), once a rule rewrote the frame */
    size_t len;
    bool lost; /* no memory for its own bytes */
};

/* The frame the rules of one direction run over, and what they did to it. */
struct fault_frame {
    struct fault *f;
    enum fault_dir dir;
    struct dirstate *ds;
    uint8_t *data;
    size_t *len;               /* may shrink (truncate) */
    struct capture_note *note; /* the acts, for the capture; NULL: events at once */
    int modified;              /* a rule changed the bytes or the length */
    uint64_t now;              /* base_now_ns(), read once when first needed */
    bool held;                 /* in the delay line, due at hold_due or after hold_left frames */
    uint64_t hold_due;
    unsigned hold_left;
    unsigned ncopies; /* one per dup rule that acted, at most one per rule */
    struct fault_copy copies[FAULT_RULES_PER_DIR];
};

void fault_copy_add(struct fault_frame *fm, unsigned rule);
void fault_copy_keep(struct fault_frame *fm);
void fault_copy_send(struct fault_frame *fm);

/* The "alloc" rules' side of the injector (fault_alloc.c). */
int fault_add_alloc(struct fault *f, struct fault_rule *r, char *err, size_t errlen);
size_t fault_list_alloc(struct fault *f, struct fault_rule_info *out, size_t max);
