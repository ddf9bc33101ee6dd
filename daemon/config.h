/* SPDX-License-Identifier: MIT */
/* lwipd's config file: INI-style 'long-option-name = value' lines read with
 * inih, applied under the command line (daemon/args.c). */
#pragma once

#include <stddef.h>

/* Applies KEY = VALUE from line LINE: 0, or -errno with ERR saying why. */
typedef int (*config_set_cb)(void *arg, const char *key, const char *value, int line, char *err,
                             size_t errlen);

int config_load(const char *path, config_set_cb set, void *arg, char *err, size_t errlen);
int config_parse_string(const char *text, config_set_cb set, void *arg, char *err, size_t errlen);
