/* SPDX-License-Identifier: MIT */
/* The fault injector's IRQ rules: what happens to each TX-complete
 * interrupt the DMA thread raises (late, lost, duplicated), and the
 * spurious ones it adds. Run by the DMA thread alone, as the design note in
 * fault.c says of every direction. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fault_inject/fault.h"
#include "fault_inject/fault_priv.h"

/* What to do with one TX-complete IRQ raise (DMA thread). */
void fault_irq(struct fault *f, struct fault_irq_decision *d)
{
    struct dirstate *ds = &f->dir[FAULT_IRQ];

    memset(d, 0, sizeof(*d));
    if (!atomic_load_explicit(&ds->active, memory_order_relaxed))
        return;
    pthread_rwlock_rdlock(&ds->lock);
    for (int i = 0; i < ds->nrules; i++) {
        struct fault_rule *r = ds->rules[i];

        atomic_fetch_add_explicit(&r->matched, r->action != FA_IRQ_SPURIOUS, memory_order_relaxed);
        switch (r->action) {
        case FA_IRQ_LATE:
            if (fault_coin(ds, r->p)) {
                d->late_ns += r->t_ns;
                fault_acted(r, FAULT_IRQ, "late", NULL);
            }
            break;
        case FA_IRQ_LOST:
            if (fault_coin(ds, r->p)) {
                d->lost = 1;
                fault_acted(r, FAULT_IRQ, "lost", NULL);
            }
            break;
        case FA_IRQ_DUP:
            if (fault_coin(ds, r->p)) {
                d->dup = 1;
                fault_acted(r, FAULT_IRQ, "dup", NULL);
            }
            break;
        default:
            break;
        }
    }
    pthread_rwlock_unlock(&ds->lock);
}

/* The shortest spurious-IRQ period among the rules, 0 if none. */
uint64_t fault_irq_spurious_ns(struct fault *f)
{
    struct dirstate *ds = &f->dir[FAULT_IRQ];
    uint64_t p = 0;

    if (!atomic_load_explicit(&ds->active, memory_order_relaxed))
        return 0;
    pthread_rwlock_rdlock(&ds->lock);
    for (int i = 0; i < ds->nrules; i++) {
        struct fault_rule *r = ds->rules[i];
        if (r->action == FA_IRQ_SPURIOUS && (p == 0 || r->t_ns < p))
            p = r->t_ns;
    }
    pthread_rwlock_unlock(&ds->lock);
    return p;
}

/* A spurious IRQ was raised (DMA thread): count it on the first spurious
 * rule, with its event, as every other IRQ fault. */
void fault_irq_spurious_fired(struct fault *f)
{
    struct dirstate *ds = &f->dir[FAULT_IRQ];

    pthread_rwlock_rdlock(&ds->lock);
    for (int i = 0; i < ds->nrules; i++) {
        if (ds->rules[i]->action == FA_IRQ_SPURIOUS) {
            fault_acted(ds->rules[i], FAULT_IRQ, "spurious", NULL);
            break;
        }
    }
    pthread_rwlock_unlock(&ds->lock);
}
