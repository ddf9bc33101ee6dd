/* SPDX-License-Identifier: MIT */
/* The names of lwIP's allocators as alloc rules write them: the memp pools
 * of the lwIP tree and lwipopts.h lwipd is built with (memp_std.h's list,
 * so a pool this configuration lacks is refused), and the heap. */
#pragma once

#include <stddef.h>

#define ALLOC_POOL_HEAP (-1) /* mem_malloc / mem_calloc */

int alloc_pool_find(const char *name, int *pool);
const char *alloc_pool_name(int pool);
const char *alloc_pool_word(int pool);
int alloc_pool_count(void);
void alloc_pool_names(char *buf, size_t len);
