/* SPDX-License-Identifier: MIT */
/* The generic half of lwipd's option table (daemon/args_opts.c holds the
 * rows and their special setters): how an integer, flag, string or enum
 * row is parsed and stored, the defaults args_init() applies, and the
 * default and current values --help and --check-config print. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/args.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/names.h"
#include "daemon/args_priv.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* ---- the generic setters -------------------------------------------- */

static void store_uint(struct args *a, const struct opt_def *o, unsigned long x)
{
    char *p = (char *)a + o->field;

    if (o->size == sizeof(uint16_t))
        *(uint16_t *)p = (uint16_t)x;
    else if (o->size == sizeof(uint64_t))
        *(uint64_t *)p = (uint64_t)x;
    else
        *(unsigned *)p = (unsigned)x; /* unsigned, int and enum fields */
}

static int set_int(struct args *a, const struct opt_def *o, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (args_parse_uint(v, (o->flags & OPT_ZERO_OFF) ? 0 : o->min, o->max, &x) ||
        (x != 0 && x < o->min)) {
        if (o->what)
            return ERR("--%s: '%s' is not %s", o->name, v, o->what);
        return ERR("--%s: '%s' is not between %lu and %lu", o->name, v, o->min, o->max);
    }
    store_uint(a, o, x);
    return 0;
}

static int set_string(struct args *a, const struct opt_def *o, const char *v, char *err,
                      size_t errlen)
{
    if (!*v && !o->max)
        return ERR("--%s: empty %s", o->name, o->what);
    if (!*v || (o->max && strlen(v) > o->max))
        return ERR("--%s: %s must be 1-%lu characters", o->name, o->what, o->max);
    *(const char **)((char *)a + o->field) = v;
    return 0;
}

static int set_enum(struct args *a, const struct opt_def *o, const char *v, char *err,
                    size_t errlen)
{
    unsigned x;
    char list[128] = "";
    size_t n = 0;

    if (names_find(o->names, o->nnames, v, &x) == 0) {
        store_uint(a, o, x);
        return 0;
    }
    /* "'v' is not a, b or c", the names in the table's order */
    for (size_t i = 0, k = 0; i < o->nnames; i++) {
        if (!o->names[i])
            continue;
        k++;
        n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s",
                              k == 1               ? ""
                              : i + 1 == o->nnames ? " or "
                                                   : ", ",
                              o->names[i]);
    }
    return ERR("--%s: '%s' is not %s", o->name, v, list);
}

/* Parse, check and store V into O's field. */
static int opt_store(struct args *a, const struct opt_def *o, const char *v, char *err,
                     size_t errlen)
{
    switch (o->type) {
    case OPT_INT:
        return set_int(a, o, v, err, errlen);
    case OPT_FLAG:
        *(bool *)((char *)a + o->field) = o->flag_value;
        return 0;
    case OPT_STRING:
        return set_string(a, o, v, err, errlen);
    case OPT_ENUM:
        return set_enum(a, o, v, err, errlen);
    case OPT_CUSTOM:
        return o->set(a, v, err, errlen);
    }
    return -EINVAL;
}

/* Set option O of A from its text V (the value given, or "true" for a flag):
 * parse, check and store it, and set the bool the row marks. 0, or -EINVAL
 * with ERR starting "--NAME: "; A is unchanged then. */
int args_opts_set(struct args *a, const struct opt_def *o, const char *v, char *err, size_t errlen)
{
    int r = opt_store(a, o, v, err, errlen);

    if (r == 0 && o->marks)
        *(bool *)((char *)a + o->marks) = true;
    return r;
}

/* Store every row's default in A (zeroed by the caller). */
void args_opts_init(struct args *a)
{
    char err[160];

    for (size_t i = 0; i < args_opts_n; i++) {
        const struct opt_def *o = &args_opts[i];

        if (o->type == OPT_FLAG)
            *(bool *)((char *)a + o->field) = !o->flag_value;
        else if (o->def && opt_store(a, o, o->def, err, sizeof(err)) != 0)
            log_err("args", "option table: default of --%s: %s", o->name, err);
    }
}

/* The default of O as --help and --check-config show it: a value, or words
 * when it is not one; "(none)" when there is none. */
const char *args_opts_default(const struct opt_def *o)
{
    if (o->def_doc)
        return o->def_doc;
    if (o->type == OPT_FLAG)
        return "false";
    return o->def ? o->def : "(none)";
}

/* The value O has in A, as --check-config shows an option not given: the
 * value, words in parentheses when it is decided later (the TAP's MTU), or
 * "(none)". Written into BUF of LEN bytes; returns BUF. */
const char *args_opts_value(const struct args *a, const struct opt_def *o, char *buf, size_t len)
{
    const char *p = (const char *)a + o->field;
    const char *s = NULL;
    long long x = 0;

    switch (o->type) {
    case OPT_INT:
        x = o->size == sizeof(uint16_t)   ? *(const uint16_t *)p
            : o->size == sizeof(uint64_t) ? (long long)*(const uint64_t *)p
                                          : *(const int *)p;
        if (x < 0 || (x == 0 && o->def_doc))
            break;
        snprintf(buf, len, "%lld", x);
        return buf;
    case OPT_FLAG:
        return *(const bool *)p == o->flag_value ? "true" : "false";
    case OPT_STRING:
        s = *(const char *const *)p;
        break;
    case OPT_ENUM:
        s = names_get(o->names, o->nnames, *(const unsigned *)p);
        break;
    case OPT_CUSTOM:
        s = o->def_doc ? NULL : o->def;
        break;
    }
    if (s)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "(%s)", o->def_doc ? o->def_doc : "none");
    return buf;
}
