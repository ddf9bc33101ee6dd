/* SPDX-License-Identifier: MIT */
/* The fault injector's "alloc" rules: the glue between struct fault (ids,
 * the rule list) and alloc.c, which holds the rules and decides. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "fault_inject/alloc.h"
#include "fault_inject/fault.h"
#include "fault_inject/fault_priv.h"

/* Give parsed alloc rule R an id and hand it to F's alloc set. Returns the
 * id, or -ENOSPC (ERR says why; R is freed). */
int fault_add_alloc(struct fault *f, struct fault_rule *r, char *err, size_t errlen)
{
    int id, ret;

    pthread_mutex_lock(&f->id_lock);
    r->id = ++f->next_id;
    id = (int)r->id;
    pthread_mutex_unlock(&f->id_lock);
    ret = alloc_set_add(f->alloc, r, err, errlen);
    if (ret) {
        fault_rule_release(r);
        free(r);
        return ret;
    }
    return id;
}

/* Make F's alloc rules the ones lwIP's allocators obey: the live injector
 * (one made only to check a rule file is never armed). NULL: none. */
void fault_arm_alloc(struct fault *f)
{
    alloc_set_arm(f ? f->alloc : NULL);
}

struct list_out {
    struct fault_rule_info *out;
    size_t n, max;
};

static void list_one(void *arg, const struct fault_rule *r)
{
    struct list_out *lo = arg;
    struct fault_rule_info *i = &lo->out[lo->n];

    if (lo->n == lo->max)
        return;
    i->id = r->id;
    snprintf(i->text, sizeof(i->text), "%s", r->text);
    i->matched = atomic_load(&r->matched);
    i->acted = atomic_load(&r->acted);
    lo->n++;
}

/* Copy up to MAX of F's alloc rules into OUT; returns how many. */
size_t fault_list_alloc(struct fault *f, struct fault_rule_info *out, size_t max)
{
    struct list_out lo = {out, 0, max};

    alloc_set_list(f->alloc, list_one, &lo);
    return lo.n;
}
