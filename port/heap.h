/* SPDX-License-Identifier: MIT */
/* The heaps lwipd can give lwIP besides mem.c (see port/heap_opts.h). */
#pragma once

#include <stddef.h>

void *heap_libc_malloc(size_t size);
void *heap_libc_calloc(size_t count, size_t size);
void heap_libc_free(void *p);
void *rtos_heap_malloc(size_t size);
void *rtos_heap_calloc(size_t count, size_t size);
void rtos_heap_free(void *p);
