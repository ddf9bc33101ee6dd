/* SPDX-License-Identifier: MIT */
/* The daemon: what main() runs (its state is in daemon_priv.h). */
#pragma once

#include <stdio.h>

#include "daemon/args.h"

int daemon_run(const struct args *a);
int daemon_check_config(const struct args *a, FILE *out);
