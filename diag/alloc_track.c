/* SPDX-License-Identifier: MIT */
/* Allocation-site tracking for lwIP's pools and heap.
 *
 * Design note
 * -----------
 * Built only with meson -Dalloc_track=true, which links lwipd with
 * -Wl,--wrap for memp_malloc (memp_malloc_fn under MEMP_OVERFLOW_CHECK),
 * memp_free, mem_malloc, mem_calloc, mem_free and pbuf_alloc. lwIP itself is
 * untouched: the linker sends every call that crosses lwIP's object files
 * through the wrappers below. Calls inside one lwIP file (e.g. pbuf.c's own
 * pbuf_alloc calls) are not redirected; the pool allocation underneath them
 * is, and is then attributed to the lwIP function that made it.
 *
 * Each live element or block has an entry {address, pool, caller, sequence}
 * in a fixed open-addressing hash table (linear probing, deletion by
 * backward shift, so churn leaves no tombstones). No malloc on this path:
 * frees arrive from the emulated TX-complete ISR too. The table is guarded
 * by SYS_ARCH_PROTECT, which lwIP's own pools use in the same places; it is
 * never held across a call into lwIP. An entry is removed before the real
 * free, so a concurrent allocation of the same address cannot be lost.
 *
 * For pbufs the interesting caller is whoever called pbuf_alloc(), not
 * pbuf_alloc() itself: the pbuf_alloc wrapper names its caller in a
 * thread-local that the pool and heap wrappers use while it runs.
 *
 * Callers are resolved to function, file and line only when a report asks,
 * with elfutils' libdwfl on lwipd's own process.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "diag/alloc_track.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"

#include "fault_inject/alloc_wrap.h"

#define SLOTS (1u << 17)
#define MASK  (SLOTS - 1)

struct entry {
    uintptr_t addr; /* 0: empty */
    void *caller;
    uint64_t seq;
    uint32_t size;
    int16_t pool;
};

static struct {
    struct entry tab[SLOTS];
    uint64_t seq;
    uint64_t live;
    uint64_t overflow;
} at;

static __thread void *tls_outer_caller; /* set while the pbuf_alloc wrapper runs */

static uint32_t slot_of(uintptr_t a)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull;

    return (uint32_t)(h >> 40) & MASK;
}

static void track_add(void *p, int pool, size_t size, void *caller)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t i = slot_of(a);
    SYS_ARCH_DECL_PROTECT(lev);

    SYS_ARCH_PROTECT(lev);
    if (at.live >= SLOTS - SLOTS / 8) {
        at.overflow++;
        SYS_ARCH_UNPROTECT(lev);
        return;
    }
    while (at.tab[i].addr != 0 && at.tab[i].addr != a)
        i = (i + 1) & MASK;
    if (at.tab[i].addr == 0)
        at.live++;
    at.tab[i] = (struct entry){a, caller, ++at.seq, (uint32_t)size, (int16_t)pool};
    SYS_ARCH_UNPROTECT(lev);
}

static void track_del(void *p)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t i = slot_of(a), j;
    SYS_ARCH_DECL_PROTECT(lev);

    if (!p)
        return;
    SYS_ARCH_PROTECT(lev);
    while (at.tab[i].addr != 0 && at.tab[i].addr != a)
        i = (i + 1) & MASK;
    if (at.tab[i].addr == 0) { /* untracked (made before a full table freed up) */
        SYS_ARCH_UNPROTECT(lev);
        return;
    }
    /* Backward-shift deletion: pull later entries of the cluster into the
     * hole unless their home slot lies cyclically in (i, j]. */
    for (j = i;;) {
        uint32_t k;

        j = (j + 1) & MASK;
        if (at.tab[j].addr == 0)
            break;
        k = slot_of(at.tab[j].addr);
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        at.tab[i] = at.tab[j];
        i = j;
    }
    at.tab[i].addr = 0;
    at.live--;
    SYS_ARCH_UNPROTECT(lev);
}

static void *who(void *direct)
{
    return tls_outer_caller ? tls_outer_caller : direct;
}

/* ---- the wrappers (-Wl,--wrap=...) ---------------------------------------- */

/* memp_malloc is memp_malloc_fn under MEMP_OVERFLOW_CHECK: wrap both; the
 * one this lwIP lacks stays a weak, never-called reference. */
void *__real_memp_malloc(memp_t type) __attribute__((weak));
void *__real_memp_malloc_fn(memp_t type, const char *file, const int line) __attribute__((weak));
void __real_memp_free(memp_t type, void *mem);
void *__real_mem_malloc(mem_size_t size);
void *__real_mem_calloc(mem_size_t count, mem_size_t size);
void __real_mem_free(void *mem);
struct pbuf *__real_pbuf_alloc(pbuf_layer layer, u16_t length, pbuf_type type);

void *__wrap_memp_malloc(memp_t type);
void *__wrap_memp_malloc_fn(memp_t type, const char *file, const int line);
void __wrap_memp_free(memp_t type, void *mem);
void *__wrap_mem_malloc(mem_size_t size);
void *__wrap_mem_calloc(mem_size_t count, mem_size_t size);
void __wrap_mem_free(void *mem);
struct pbuf *__wrap_pbuf_alloc(pbuf_layer layer, u16_t length, pbuf_type type);

/* Each allocator wrapper first asks the allocation-failure rules
 * (fault_inject/alloc_wrap.c); an injected failure is not tracked. */
void *__wrap_memp_malloc(memp_t type)
{
    void *caller = who(__builtin_return_address(0));
    void *p = alloc_wrap_memp(type) ? NULL : __real_memp_malloc(type);

    if (p)
        track_add(p, (int)type, 0, caller);
    return p;
}

void *__wrap_memp_malloc_fn(memp_t type, const char *file, const int line)
{
    void *caller = who(__builtin_return_address(0));
    void *p = alloc_wrap_memp(type) ? NULL : __real_memp_malloc_fn(type, file, line);

    if (p)
        track_add(p, (int)type, 0, caller);
    return p;
}

void __wrap_memp_free(memp_t type, void *mem)
{
    track_del(mem);
    __real_memp_free(type, mem);
}

void *__wrap_mem_malloc(mem_size_t size)
{
    void *caller = who(__builtin_return_address(0));
    void *p = alloc_wrap_heap() ? NULL : __real_mem_malloc(size);

    if (p)
        track_add(p, ALLOC_TRACK_HEAP, size, caller);
    return p;
}

void *__wrap_mem_calloc(mem_size_t count, mem_size_t size)
{
    void *caller = who(__builtin_return_address(0));
    void *p = alloc_wrap_heap() ? NULL : __real_mem_calloc(count, size);

    if (p)
        track_add(p, ALLOC_TRACK_HEAP, (size_t)count * size, caller);
    return p;
}

void __wrap_mem_free(void *mem)
{
    track_del(mem);
    __real_mem_free(mem);
}

struct pbuf *__wrap_pbuf_alloc(pbuf_layer layer, u16_t length, pbuf_type type)
{
    void *saved = tls_outer_caller;
    struct pbuf *p;

    tls_outer_caller = who(__builtin_return_address(0));
    p = __real_pbuf_alloc(layer, length, type);
    tls_outer_caller = saved;
    return p;
}

/* ---- queries --------------------------------------------------------------- */

/* The sequence number of the latest tracked allocation. */
uint64_t alloc_track_seq(void)
{
    SYS_ARCH_DECL_PROTECT(lev);
    uint64_t s;

    SYS_ARCH_PROTECT(lev);
    s = at.seq;
    SYS_ARCH_UNPROTECT(lev);
    return s;
}

void alloc_track_get_stats(struct alloc_track_stats *st)
{
    SYS_ARCH_DECL_PROTECT(lev);

    SYS_ARCH_PROTECT(lev);
    st->live = at.live;
    st->overflow = at.overflow;
    SYS_ARCH_UNPROTECT(lev);
}

/* Group the live allocations made after SINCE_SEQ by (pool, caller), most
 * frequent first. *OUT is malloc'd (the caller frees it). Returns the number
 * of groups, or -ENOMEM. */
int alloc_track_sites(uint64_t since_seq, struct alloc_site **out)
{
    struct entry *copy = malloc(sizeof(struct entry) * 4096);
    size_t n = 0, cap = 4096;
    struct alloc_site *sites;
    int ns = 0;
    SYS_ARCH_DECL_PROTECT(lev);

    *out = NULL;
    if (!copy)
        return -ENOMEM;
    /* Copy the newer entries out under the lock in chunks, never calling
     * malloc while holding it. */
    for (uint32_t i = 0; i < SLOTS;) {
        SYS_ARCH_PROTECT(lev);
        for (; i < SLOTS && n < cap; i++) {
            if (at.tab[i].addr != 0 && at.tab[i].seq > since_seq)
                copy[n++] = at.tab[i];
        }
        SYS_ARCH_UNPROTECT(lev);
        if (n == cap) {
            struct entry *nc = realloc(copy, sizeof(struct entry) * cap * 2);
            if (!nc) {
                free(copy);
                return -ENOMEM;
            }
            copy = nc;
            cap *= 2;
        }
    }
    sites = calloc(n ? n : 1, sizeof(*sites));
    if (!sites) {
        free(copy);
        return -ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        int s;
        for (s = 0; s < ns; s++) {
            if (sites[s].pool == copy[k].pool && sites[s].caller == copy[k].caller)
                break;
        }
        if (s == ns)
            sites[ns++] = (struct alloc_site){.pool = copy[k].pool, .caller = copy[k].caller};
        sites[s].count++;
        sites[s].bytes += copy[k].size;
    }
    free(copy);
    for (int a = 1; a < ns; a++) { /* insertion sort: a handful of sites */
        struct alloc_site t = sites[a];
        int b = a;
        for (; b > 0 && sites[b - 1].count < t.count; b--)
            sites[b] = sites[b - 1];
        sites[b] = t;
    }
    *out = sites;
    return ns;
}

static pthread_mutex_t dwfl_lock = PTHREAD_MUTEX_INITIALIZER;

/* Resolve the return address ADDR to the calling function and the call's
 * source line. Returns 0 (FILE empty and *LINE 0 when there is no line
 * information), or -ENOENT. */
int alloc_track_symbolize(void *addr, char *func, size_t funclen, char *file, size_t filelen,
                          int *line)
{
    static const Dwfl_Callbacks cb = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
    };
    static Dwfl *dwfl;
    Dwarf_Addr a = (Dwarf_Addr)(uintptr_t)addr - 1; /* inside the call instruction */
    Dwfl_Module *mod;
    const char *name, *src = NULL;
    int ret = -ENOENT;

    func[0] = file[0] = '\0';
    *line = 0;
    pthread_mutex_lock(&dwfl_lock);
    if (!dwfl) {
        dwfl = dwfl_begin(&cb);
        if (dwfl && (dwfl_linux_proc_report(dwfl, getpid()) != 0 ||
                     dwfl_report_end(dwfl, NULL, NULL) != 0)) {
            dwfl_end(dwfl);
            dwfl = NULL;
        }
    }
    mod = dwfl ? dwfl_addrmodule(dwfl, a) : NULL;
    name = mod ? dwfl_module_addrname(mod, a) : NULL;
    if (name) {
        Dwfl_Line *l = dwfl_module_getsrc(mod, a);
        snprintf(func, funclen, "%s", name);
        if (l)
            src = dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL);
        if (src) {
            const char *base = strrchr(src, '/');
            /* keep the last two path elements: "apps/churn.c" */
            if (base && base > src) {
                const char *p = base - 1;
                while (p > src && *p != '/')
                    p--;
                src = *p == '/' ? p + 1 : p;
            }
            snprintf(file, filelen, "%s", src);
        }
        ret = 0;
    }
    pthread_mutex_unlock(&dwfl_lock);
    return ret;
}
