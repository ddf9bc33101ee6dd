/* SPDX-License-Identifier: MIT */
/* lwipd's config file: INI-style 'long-option-name = value' lines read with
 * inih, applied under the command line (daemon/args.c). */
#pragma once

#include <stddef.h>

struct args;

int config_load(struct args *a, const char *path, char *err, size_t errlen);
int config_parse_string(struct args *a, const char *text, char *err, size_t errlen);
