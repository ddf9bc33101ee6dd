/* SPDX-License-Identifier: MIT */
/* Pool names for alloc rules, read from lwIP's own pool list. */
#include "fault_inject/alloc_pools.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "lwip/memp.h"

/* In memp_t order: the X-macro list memp.h builds its enum from. */
static const char *const pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

/* The same names as a rule's words ("pool=TCP_SEG"), for its canonical text. */
static const char *const pool_words[] = {
#define LWIP_MEMPOOL(name, num, size, desc) "pool=" #name,
#include "lwip/priv/memp_std.h"
};

/* How many memp pools this lwIP has (MEMP_MAX). */
int alloc_pool_count(void)
{
    return (int)MEMP_MAX;
}

/* Find pool NAME (case-insensitive, "MEMP_" prefix optional) and store its
 * memp_t in *POOL. 0, or -ENOENT. */
int alloc_pool_find(const char *name, int *pool)
{
    if (strncasecmp(name, "MEMP_", 5) == 0)
        name += 5;
    for (int i = 0; i < (int)MEMP_MAX; i++) {
        if (strcasecmp(name, pool_names[i]) == 0) {
            *pool = i;
            return 0;
        }
    }
    return -ENOENT;
}

/* POOL's name ("TCP_SEG"), "heap" for ALLOC_POOL_HEAP, "?" out of range. */
const char *alloc_pool_name(int pool)
{
    if (pool == ALLOC_POOL_HEAP)
        return "heap";
    return pool >= 0 && pool < (int)MEMP_MAX ? pool_names[pool] : "?";
}

/* POOL as a rule writes it: "pool=TCP_SEG" or "heap". */
const char *alloc_pool_word(int pool)
{
    if (pool == ALLOC_POOL_HEAP)
        return "heap";
    return pool >= 0 && pool < (int)MEMP_MAX ? pool_words[pool] : "?";
}

/* Every pool name, comma-separated, into BUF (cut short to fit LEN). */
void alloc_pool_names(char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < (int)MEMP_MAX && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", pool_names[i]);
}
