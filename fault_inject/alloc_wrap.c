/* SPDX-License-Identifier: MIT */
/* The linker's wrappers (-Wl,--wrap=SYMBOL) around lwIP's allocators and
 * its Ethernet input, for allocation-failure rules (alloc.c).
 *
 * --wrap redirects only references between object files: lwIP's calls
 * from one of its files into another (pbuf.c -> memp_malloc, tcp.c ->
 * memp_malloc, pbuf.c -> mem_malloc, tcpip.c -> ethernet_input) and ours
 * come here; calls inside memp.c or mem.c themselves do not (mem_calloc's
 * own mem_malloc, for one: mem_calloc is wrapped instead). mem_trim (a
 * shrink lwIP's callers expect to succeed) and mem_free / memp_free are
 * left alone.
 *
 * With -Dalloc_track the allocation-site tracker owns the allocator
 * wrappers and asks alloc_wrap_memp() / alloc_wrap_heap() first; this file
 * then wraps ethernet_input only. Nothing else refers to this file: it is
 * linked in only by a binary built with the --wrap options (lwipd). */
#include "lwipd_config.h"

#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "netif/ethernet.h"

#include "fault_inject/alloc.h"
#include "fault_inject/alloc_pools.h"
#include "fault_inject/alloc_wrap.h"

#define FRAME_PEEK 2048 /* bytes of a frame the filters see (headers) */

/* Must this allocation from pool TYPE fail? If so it is counted in lwIP's
 * own statistics as lwIP counts a pool running dry (memp err), under the
 * same protection memp.c takes there. */
bool alloc_wrap_memp(memp_t type)
{
    if (!alloc_decide((int)type))
        return false;
#if MEMP_STATS
    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev);
    if (lwip_stats.memp[type])
        lwip_stats.memp[type]->err++;
    SYS_ARCH_UNPROTECT(lev);
#endif
    return true;
}

/* The same for a heap allocation (mem err). */
bool alloc_wrap_heap(void)
{
    if (!alloc_decide(ALLOC_POOL_HEAP))
        return false;
#if MEM_STATS
    SYS_ARCH_DECL_PROTECT(lev);
    SYS_ARCH_PROTECT(lev);
    lwip_stats.mem.err++;
    SYS_ARCH_UNPROTECT(lev);
#endif
    return true;
}

err_t __real_ethernet_input(struct pbuf *p, struct netif *netif);
err_t __wrap_ethernet_input(struct pbuf *p, struct netif *netif);

/* A frame enters lwIP: with filtered alloc rules, show the frame's first
 * bytes to their filters once, for the allocations its processing makes. */
err_t __wrap_ethernet_input(struct pbuf *p, struct netif *netif)
{
    static __thread uint8_t peek[FRAME_PEEK];
    struct alloc_frame saved;
    u16_t n;
    err_t err;

    if (!p || !alloc_frame_filters())
        return __real_ethernet_input(p, netif);
    n = pbuf_copy_partial(p, peek, sizeof(peek), 0);
    alloc_frame_begin(peek, n, p->tot_len, &saved);
    err = __real_ethernet_input(p, netif);
    alloc_frame_end(&saved);
    return err;
}

#if !LWIPD_ALLOC_TRACK
/* memp_malloc is memp_malloc_fn under MEMP_OVERFLOW_CHECK: both are
 * wrapped; the one this lwIP lacks stays a weak, never-called reference. */
void *__real_memp_malloc(memp_t type) __attribute__((weak));
void *__real_memp_malloc_fn(memp_t type, const char *file, const int line) __attribute__((weak));
void *__real_mem_malloc(mem_size_t size);
void *__real_mem_calloc(mem_size_t count, mem_size_t size);

void *__wrap_memp_malloc(memp_t type);
void *__wrap_memp_malloc_fn(memp_t type, const char *file, const int line);
void *__wrap_mem_malloc(mem_size_t size);
void *__wrap_mem_calloc(mem_size_t count, mem_size_t size);

void *__wrap_memp_malloc(memp_t type)
{
    return alloc_wrap_memp(type) ? NULL : __real_memp_malloc(type);
}

void *__wrap_memp_malloc_fn(memp_t type, const char *file, const int line)
{
    return alloc_wrap_memp(type) ? NULL : __real_memp_malloc_fn(type, file, line);
}

void *__wrap_mem_malloc(mem_size_t size)
{
    return alloc_wrap_heap() ? NULL : __real_mem_malloc(size);
}

void *__wrap_mem_calloc(mem_size_t count, mem_size_t size)
{
    return alloc_wrap_heap() ? NULL : __real_mem_calloc(count, size);
}
#endif
