/* SPDX-License-Identifier: MIT */
/* Enum <-> name tables: one lookup for every option and state name.
 *
 * A table is an array of strings indexed by the enum's value (designated
 * initializers; a gap is NULL):
 *
 *     static const char *const mode_names[] = {[MODE_A] = "a", [MODE_B] = "b"};
 *     names_get(mode_names, NAMES_COUNT(mode_names), m);
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define NAMES_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The name of VALUE in TABLE of N entries; "?" for a value outside the table
 * or a gap in it. Never NULL. */
static inline const char *names_get(const char *const *table, size_t n, unsigned value)
{
    return value < n && table[value] ? table[value] : "?";
}

/* The value whose name is S: 0 with *OUT set, or -EINVAL (and *OUT
 * untouched) when no entry of TABLE is S. */
static inline int names_find(const char *const *table, size_t n, const char *s, unsigned *out)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i] && strcmp(table[i], s) == 0) {
            *out = (unsigned)i;
            return 0;
        }
    }
    return -EINVAL;
}
