/* SPDX-License-Identifier: MIT */
/* The option table shared by daemon/args.c (parsing, layers, --help,
 * --check-config) and daemon/args_opts.c (the rows and their setters). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/args.h"

/* Sets one option from its text V; -EINVAL with a message in ERR. */
typedef int (*opt_set_fn)(struct args *a, const char *v, char *err, size_t errlen);

enum opt_flags {
    OPT_REPEAT = 1,   /* may be given more than once */
    OPT_CLI_ONLY = 2, /* not a config file key */
    OPT_CONFIG = 4,   /* --config itself: applied before everything else */
    OPT_ZERO_OFF = 8, /* OPT_INT: 0 (off) is accepted besides [min, max] */
};

/* How a row's value is parsed and stored (Redis's createIntConfig shape:
 * generic setters, a custom one only where the parsing is special). */
enum opt_type {
    OPT_INT,    /* a decimal integer in [min, max], stored in a field of `size` bytes */
    OPT_FLAG,   /* no argument: stores flag_value; args_init() stores its opposite */
    OPT_STRING, /* text of 1 to max characters (max 0: any length) */
    OPT_ENUM,   /* one of names[], stored as its index */
    OPT_CUSTOM, /* set() parses and stores */
};

struct opt_def {
    const char *name;
    const char *arg; /* NULL: a flag without argument */
    const char *help;
    enum opt_type type;
    size_t field; /* offsetof(struct args, ...) of the value (not OPT_CUSTOM) */
    size_t size;  /* sizeof the field (OPT_INT, OPT_ENUM) */
    unsigned long min, max;
    /* OPT_INT: what a bad value "is not" ("between MIN and MAX" if NULL);
     * OPT_STRING: what the value is ("path") in "empty path" messages. */
    const char *what;
    const char *const *names; /* OPT_ENUM: names by value (base/names.h) */
    size_t nnames;
    opt_set_fn set;  /* OPT_CUSTOM */
    bool flag_value; /* OPT_FLAG */
    /* The default as the option's own text, applied by args_init(); NULL:
     * the field stays zero. */
    const char *def;
    /* Shown by --help and --check-config instead of `def` when the default
     * is not a plain value ("the TAP's"). */
    const char *def_doc;
    /* offsetof(struct args, ...) of a bool set whenever the option is given
     * (e.g. --churn-port implies --churn); 0: none (offset 0 is `tap`, a
     * pointer). */
    size_t marks;
    /* OPT_REPEAT: offsetof(struct args, ...) of its values (const char *[])
     * and of their count (int); the command line's replace the file's. */
    size_t list, count;
    unsigned flags;
};

extern const struct opt_def args_opts[];
extern const size_t args_opts_n;

void args_opts_init(struct args *a);
int args_opts_set(struct args *a, const struct opt_def *o, const char *v, char *err, size_t errlen);
const char *args_opts_default(const struct opt_def *o);
const char *args_opts_value(const struct args *a, const struct opt_def *o, char *buf, size_t len);
int args_parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out);
