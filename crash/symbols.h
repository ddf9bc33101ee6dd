/* SPDX-License-Identifier: MIT */
/* Address to function and source line (normal context only: it allocates;
 * symbols_init() early does most of that). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int symbols_init(void);
int symbols_lookup(uintptr_t ip, char *name, size_t len, uintptr_t *off);
int symbols_source(uintptr_t ip, char *file, size_t len, int *line);
