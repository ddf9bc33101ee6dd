/* SPDX-License-Identifier: MIT */
/* Address to function name (normal context only: it allocates). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int symbols_lookup(uintptr_t ip, char *name, size_t len, uintptr_t *off);
