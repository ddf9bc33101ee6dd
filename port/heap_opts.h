/* SPDX-License-Identifier: MIT */
/* Heap backend selection, driven by meson options through lwipd_config.h.
 *
 * Included by lwipd's lwipopts.h profiles. A user's own lwipopts.h may include
 * it too, or set the heap options directly.
 */
#pragma once

#include "lwipd_config.h"

#if LWIPD_HEAP_LWIP
#define MEM_LIBC_MALLOC                        0
#define MEM_USE_POOLS                          0
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
