/* SPDX-License-Identifier: MIT */
/* -Dheap=libc: glibc's malloc behind wrappers that see an ISR re-entering
 * it (see port/heap_opts.h). */
#pragma once

#include <stddef.h>

void *heap_libc_malloc(size_t size);
void *heap_libc_calloc(size_t count, size_t size);
void heap_libc_free(void *p);
