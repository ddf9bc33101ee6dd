/* SPDX-License-Identifier: MIT */
/* -Dheap=rtos: a small semaphore-guarded RTOS heap (see port/heap_opts.h). */
#pragma once

#include <stddef.h>

/* Told when the heap finds itself corrupted or cannot start (KIND:
 * "heap-corruption", "heap", "lwip-bug"); expected not to return (crash/'s
 * fatal_on_fault()). Without one, the message goes to the log and the
 * process aborts. */
typedef void (*rtos_heap_fault_cb)(void *arg, const char *kind, const char *message);

void rtos_heap_set_fault_hook(rtos_heap_fault_cb cb, void *arg);
void rtos_heap_init(void);
void *rtos_heap_malloc(size_t size);
void *rtos_heap_calloc(size_t count, size_t size);
void rtos_heap_free(void *p);
