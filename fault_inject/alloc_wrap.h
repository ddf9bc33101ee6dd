/* SPDX-License-Identifier: MIT */
/* The allocation-failure check for lwIP's allocator wrappers, shared with
 * the allocation-site tracker's wrappers (diag/alloc_track.c). */
#pragma once

#include <stdbool.h>

#include "lwip/memp.h"

bool alloc_wrap_memp(memp_t type);
bool alloc_wrap_heap(void);
