/* SPDX-License-Identifier: MIT */
/* Allocation-site tracking (meson -Dalloc_track=true): every live lwIP pool
 * element and heap block remembers the function that allocated it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ALLOC_TRACK_HEAP (-1) /* "pool" of a heap block */

/* Live allocations made since a given sequence number, grouped by pool and
 * allocating caller. */
struct alloc_site {
    int pool; /* memp_t, or ALLOC_TRACK_HEAP */
    void *caller;
    uint64_t count;
    uint64_t bytes; /* heap blocks only */
};

/* Counters of the tracker itself. */
struct alloc_track_stats {
    uint64_t live;
    uint64_t overflow; /* allocations not tracked: the table was full */
};

uint64_t alloc_track_seq(void);
int alloc_track_sites(uint64_t since_seq, struct alloc_site **out);
void alloc_track_get_stats(struct alloc_track_stats *st);
int alloc_track_symbolize(void *addr, char *func, size_t funclen, char *file, size_t filelen,
                          int *line);
