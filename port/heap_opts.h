/* SPDX-License-Identifier: MIT */
/* Heap backend selection, driven by meson's -Dheap through lwipd_config.h.
 *
 * Included by lwipd's lwipopts.h profiles; a user's own lwipopts.h may
 * include it too, or set the heap options directly.
 *   lwip   lwIP's mem.c; -Dmem_free_from_other_context sets
 *          LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT (the first fix for the
 *          ISR heap re-entry)
 *   libc   glibc malloc behind wrappers that catch ISR re-entry
 *   rtos   an RT-Thread-like heap guarded by a semaphore only (the board
 *          of the ISR heap re-entry): the ALLOW flag cannot help it
 *   pools  MEM_USE_POOLS: mem_malloc from fixed pools (lwippools.h)
 */
#pragma once

#include <stddef.h>

#include "lwipd_config.h"
#include "mcu/heap_libc.h"
#include "mcu/rtos_heap.h"

/* The heap hooks differ by version. The version meson read from the tree
 * (lwipd_config.h), not lwip/init.h's: included from lwipopts.h, init.h may
 * be half-read (a file that includes it first) and its version undefined. */
#define LWIPD_HEAP_HOOKS_CUSTOM (LWIPD_LWIP_VERSION_MM >= 202)

#if LWIPD_HEAP_LWIP
#define MEM_LIBC_MALLOC                        0
#define MEM_USE_POOLS                          0
#define LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT LWIPD_MEM_FREE_FROM_OTHER_CONTEXT
#elif LWIPD_HEAP_LIBC || LWIPD_HEAP_RTOS
#define MEM_USE_POOLS                          0
#define LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT LWIPD_MEM_FREE_FROM_OTHER_CONTEXT
#if LWIPD_HEAP_LIBC
#define LWIPD_HEAP_MALLOC heap_libc_malloc
#define LWIPD_HEAP_CALLOC heap_libc_calloc
#define LWIPD_HEAP_FREE   heap_libc_free
#else
#define LWIPD_HEAP_MALLOC rtos_heap_malloc
#define LWIPD_HEAP_CALLOC rtos_heap_calloc
#define LWIPD_HEAP_FREE   rtos_heap_free
#endif
#if LWIPD_HEAP_HOOKS_CUSTOM /* 2.2+: MEM_CUSTOM_ALLOCATOR */
#define MEM_LIBC_MALLOC      0
#define MEM_CUSTOM_ALLOCATOR 1
#define MEM_CUSTOM_MALLOC    LWIPD_HEAP_MALLOC
#define MEM_CUSTOM_CALLOC    LWIPD_HEAP_CALLOC
#define MEM_CUSTOM_FREE      LWIPD_HEAP_FREE
#else /* 2.0, 2.1: MEM_LIBC_MALLOC with the mem_clib_* hooks */
#define MEM_LIBC_MALLOC 1
#define mem_clib_malloc LWIPD_HEAP_MALLOC
#define mem_clib_calloc LWIPD_HEAP_CALLOC
#define mem_clib_free   LWIPD_HEAP_FREE
#endif
#elif LWIPD_HEAP_POOLS
#define MEM_LIBC_MALLOC                        0
#define MEM_USE_POOLS                          1
#define MEMP_USE_CUSTOM_POOLS                  1
#define LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT LWIPD_MEM_FREE_FROM_OTHER_CONTEXT
#else
#error "lwipd: unknown heap backend in lwipd_config.h"
#endif

#if LWIPD_MEM_SANITY
#define MEM_SANITY_CHECK    1
#define MEM_OVERFLOW_CHECK  1
#define MEMP_SANITY_CHECK   1
#define MEMP_OVERFLOW_CHECK 1
#endif
