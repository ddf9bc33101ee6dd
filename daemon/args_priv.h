/* SPDX-License-Identifier: MIT */
/* The option table shared by daemon/args.c (parsing, layers, --help) and
 * daemon/args_opts.c (the setters). */
#pragma once

#include <stddef.h>

#include "daemon/args.h"

/* Sets one option from its text V; -EINVAL with a message in ERR. */
typedef int (*opt_set_fn)(struct args *a, const char *v, char *err, size_t errlen);

enum opt_flags {
    OPT_REPEAT = 1,   /* may be given more than once */
    OPT_CLI_ONLY = 2, /* not a config file key */
    OPT_CONFIG = 4,   /* --config itself: applied before everything else */
};

struct opt_def {
    const char *name;
    const char *arg; /* NULL: a flag without argument */
    const char *help;
    opt_set_fn set;
    unsigned flags;
};

extern const struct opt_def args_opts[];
extern const size_t args_nopts;
