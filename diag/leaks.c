/* SPDX-License-Identifier: MIT */
/* Leak baseline and comparison for lwIP's pools and heap.
 *
 * A snapshot is taken in the tcpip thread (core locked), so the pool
 * counters and lwIP's TCP lists agree with each other. Comparing a snapshot
 * with the baseline gives, per pool, what did not return. Part of that is
 * lwIP's own, documented state, which is accounted rather than reported:
 * TCP PCBs in the states lwIP ends by itself (TIME_WAIT, released after
 * 2 * TCP_MSL or reused when the pool runs out; FIN_WAIT_1/2, CLOSING,
 * LAST_ACK, SYN_RCVD), listening PCBs, segments queued on active PCBs, and
 * the TCP timer lwIP arms while any active or TIME_WAIT PCB exists. PCBs in
 * ESTABLISHED or CLOSE_WAIT wait for an application and are not excused.
 * Whatever is left is a leak. So is a socket slot that no socket() can
 * have any more (sockdiag_health_json(): lwIP's socket array is static, no
 * pool shows it). With -Dalloc_track=true, the live allocations
 * made after the baseline are listed per pool with the function that made
 * them.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "diag/leaks.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h" /* first: 2.0.2's memp.h does not include it */
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include "base/base.h"
#include "base/names.h"
#include "diag/sockdiag.h"

#if LWIPD_ALLOC_TRACK
#include "diag/alloc_track.h"
#endif

#define TCP_STATES 11 /* CLOSED .. TIME_WAIT */

/* Pool names in MEMP_* order, from lwIP's own list. */
static const char *const pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

/* The name of lwIP pool POOL (a memp_t) as lwIP's memp_std.h spells it;
 * "?" out of range. */
const char *leaks_pool_name(unsigned pool)
{
    return names_get(pool_names, NAMES_COUNT(pool_names), pool);
}

static const char *const state_names[TCP_STATES] = {
    "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK", "TIME_WAIT",
};

struct leaks_snap {
    uint64_t taken_ns;
    uint64_t memp_used[MEMP_MAX];
    uint64_t heap_used;
    uint32_t tcp_states[TCP_STATES]; /* active list by state, plus TIME_WAIT */
    uint32_t tcp_active, tcp_tw, tcp_listen, tcp_bound;
    uint32_t tcp_segs; /* unsent + unacked + ooseq on active PCBs */
    uint64_t alloc_seq;
};

static struct {
    bool have;
    struct leaks_snap base;
} leaks;

static uint32_t seg_count(const struct tcp_seg *s)
{
    uint32_t n = 0;

    for (; s; s = s->next)
        n++;
    return n;
}

static void snapshot(struct leaks_snap *s)
{
    SYS_ARCH_DECL_PROTECT(lev);

    memset(s, 0, sizeof(*s));
    s->taken_ns = base_now_ns();
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next) {
        s->tcp_active++;
        if ((unsigned)p->state < TCP_STATES)
            s->tcp_states[p->state]++;
        s->tcp_segs += seg_count(p->unsent) + seg_count(p->unacked);
#if TCP_QUEUE_OOSEQ
        s->tcp_segs += seg_count(p->ooseq);
#endif
    }
    for (struct tcp_pcb *p = tcp_tw_pcbs; p; p = p->next) {
        s->tcp_tw++;
        s->tcp_states[TIME_WAIT]++;
    }
    for (struct tcp_pcb_listen *p = tcp_listen_pcbs.listen_pcbs; p; p = p->next)
        s->tcp_listen++;
    for (struct tcp_pcb *p = tcp_bound_pcbs; p; p = p->next)
        s->tcp_bound++;
    SYS_ARCH_PROTECT(lev); /* the TX-complete ISR frees pbufs at any time */
    for (int i = 0; i < MEMP_MAX; i++)
        s->memp_used[i] = lwip_stats.memp[i] ? lwip_stats.memp[i]->used : 0;
    s->heap_used = lwip_stats.mem.used;
    SYS_ARCH_UNPROTECT(lev);
#if LWIPD_ALLOC_TRACK
    s->alloc_seq = alloc_track_seq();
#endif
}

struct leaks_snap *leaks_snap_new(void)
{
    return calloc(1, sizeof(struct leaks_snap));
}

/* For stack_call(), which runs the snapshot on its own copy of the block. */
size_t leaks_snap_size(void)
{
    return sizeof(struct leaks_snap);
}

void leaks_snap_free(struct leaks_snap *s)
{
    free(s);
}

/* stack_fn, in the tcpip thread: take (or take again) the baseline. */
int leaks_baseline_in_tcpip(void *arg)
{
    (void)arg;
    snapshot(&leaks.base);
    leaks.have = true;
    return 0;
}

/* stack_fn, in the tcpip thread: fill the struct leaks_snap at ARG. */
int leaks_snapshot_in_tcpip(void *arg)
{
    snapshot(arg);
    return 0;
}

bool leaks_have_baseline(void)
{
    return leaks.have;
}

/* What lwIP's own state explains of pool I's growth, and how, in WHY. */
static int64_t accounted(int i, const struct leaks_snap *b, const struct leaks_snap *n, char *why,
                         size_t len)
{
    int64_t a = 0;

    why[0] = '\0';
    if (i == MEMP_TCP_PCB) {
        /* States lwIP leaves on its own timers. ESTABLISHED and CLOSE_WAIT
         * wait for an application: if they grew, someone holds them. */
        static const int own[] = {SYN_RCVD, FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT};
        size_t off = 0;

        for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
            a += (int64_t)n->tcp_states[own[k]] - (int64_t)b->tcp_states[own[k]];
        for (int s = 0; s < TCP_STATES && off < len; s++) {
            if (n->tcp_states[s] != b->tcp_states[s])
                off += (size_t)snprintf(why + off, len - off, "%s%s %+lld", off ? ", " : "",
                                        state_names[s],
                                        (long long)n->tcp_states[s] - (long long)b->tcp_states[s]);
        }
    } else if (i == MEMP_TCP_PCB_LISTEN) {
        a = (int64_t)n->tcp_listen - (int64_t)b->tcp_listen;
        snprintf(why, len, "%lld listening PCBs", (long long)a);
    } else if (i == MEMP_TCP_SEG) {
        a = (int64_t)n->tcp_segs - (int64_t)b->tcp_segs;
        snprintf(why, len, "%lld segments queued on active PCBs", (long long)a);
    } else if (i == MEMP_SYS_TIMEOUT) {
        a = (int64_t)(n->tcp_active + n->tcp_tw > 0) - (int64_t)(b->tcp_active + b->tcp_tw > 0);
        if (a)
            snprintf(why, len, "lwIP's TCP timer, armed while TCP PCBs are active or in TIME_WAIT");
    }
    return a;
}

#if LWIPD_ALLOC_TRACK
static cJSON *sites_json(int pool, const struct alloc_site *sites, int ns)
{
    cJSON *arr = cJSON_CreateArray();

    for (int k = 0; k < ns && cJSON_GetArraySize(arr) < 8; k++) {
        char fn[128], file[128];
        int line;
        cJSON *o;

        if (sites[k].pool != pool)
            continue;
        o = cJSON_CreateObject();
        alloc_track_symbolize(sites[k].caller, fn, sizeof(fn), file, sizeof(file), &line);
        cJSON_AddStringToObject(o, "function", fn[0] ? fn : "?");
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "line", line);
        cJSON_AddNumberToObject(o, "count", (double)sites[k].count);
        if (pool == ALLOC_TRACK_HEAP)
            cJSON_AddNumberToObject(o, "bytes", (double)sites[k].bytes);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}
#endif

/* Compare NOW with the baseline: {"clean", "leaked", "pools", "heap",
 * "tcp", "sockets", "tracking"[, "sites"]}. NULL when no baseline was
 * taken. Called outside the tcpip thread (the socket check may probe). */
cJSON *leaks_report_json(const struct leaks_snap *now)
{
    const struct leaks_snap *b = &leaks.base;
    cJSON *o, *pools, *leaked, *tcp, *states, *heap, *trk;
    bool clean = true;
#if LWIPD_ALLOC_TRACK
    struct alloc_site *sites = NULL;
    int ns;
    cJSON *js;
#endif

    if (!leaks.have)
        return NULL;
#if LWIPD_ALLOC_TRACK
    ns = alloc_track_sites(b->alloc_seq, &sites);
    js = cJSON_CreateObject();
#endif
    o = cJSON_CreateObject();
    pools = cJSON_CreateObject();
    leaked = cJSON_CreateObject();
    for (int i = 0; i < MEMP_MAX; i++) {
        int64_t delta = (int64_t)now->memp_used[i] - (int64_t)b->memp_used[i];
        char why[160];
        int64_t acc = delta > 0 ? accounted(i, b, now, why, sizeof(why)) : 0;
        int64_t lk = delta - (acc > 0 ? acc : 0);
        cJSON *p = cJSON_CreateObject();

        if (delta <= 0)
            why[0] = '\0';
        if (lk < 0)
            lk = 0;
        cJSON_AddNumberToObject(p, "baseline", (double)b->memp_used[i]);
        cJSON_AddNumberToObject(p, "now", (double)now->memp_used[i]);
        cJSON_AddNumberToObject(p, "delta", (double)delta);
        cJSON_AddNumberToObject(p, "accounted", (double)(delta > 0 && acc > 0 ? acc : 0));
        cJSON_AddNumberToObject(p, "leaked", (double)lk);
        if (why[0])
            cJSON_AddStringToObject(p, "held_by", why);
        cJSON_AddItemToObject(pools, pool_names[i], p);
        if (lk > 0) {
            clean = false;
            cJSON_AddNumberToObject(leaked, pool_names[i], (double)lk);
        }
#if LWIPD_ALLOC_TRACK
        if (delta > 0 && ns > 0)
            cJSON_AddItemToObject(js, pool_names[i], sites_json(i, sites, ns));
#endif
    }
    heap = cJSON_CreateObject();
    cJSON_AddNumberToObject(heap, "baseline", (double)b->heap_used);
    cJSON_AddNumberToObject(heap, "now", (double)now->heap_used);
    cJSON_AddNumberToObject(heap, "delta",
                            (double)((int64_t)now->heap_used - (int64_t)b->heap_used));
    if (now->heap_used > b->heap_used) {
        clean = false;
        cJSON_AddNumberToObject(leaked, "heap_bytes", (double)(now->heap_used - b->heap_used));
#if LWIPD_ALLOC_TRACK
        if (ns > 0)
            cJSON_AddItemToObject(js, "heap", sites_json(ALLOC_TRACK_HEAP, sites, ns));
#endif
    }
    tcp = cJSON_CreateObject();
    states = cJSON_CreateObject();
    cJSON_AddNumberToObject(tcp, "active", now->tcp_active);
    cJSON_AddNumberToObject(tcp, "time_wait", now->tcp_tw);
    cJSON_AddNumberToObject(tcp, "listen", now->tcp_listen);
    cJSON_AddNumberToObject(tcp, "bound", now->tcp_bound);
    for (int s = 0; s < TCP_STATES; s++) {
        if (now->tcp_states[s])
            cJSON_AddNumberToObject(states, state_names[s], now->tcp_states[s]);
    }
    cJSON_AddItemToObject(tcp, "states", states);
    trk = cJSON_CreateObject();
#if LWIPD_ALLOC_TRACK
    struct alloc_track_stats ts;
    alloc_track_get_stats(&ts);
    cJSON_AddBoolToObject(trk, "enabled", 1);
    cJSON_AddNumberToObject(trk, "live", (double)ts.live);
    cJSON_AddNumberToObject(trk, "overflow", (double)ts.overflow);
    cJSON_AddItemToObject(o, "sites", js);
    free(sites);
#else
    cJSON_AddBoolToObject(trk, "enabled", 0);
#endif
    /* Socket slots: a slot no socket() can have any more is a leak too,
     * though no pool shows it (lwIP's socket array is static). */
    bool slots_ok;
    cJSON *socks = sockdiag_health_json(&slots_ok);

    if (!slots_ok) {
        cJSON *st = cJSON_GetObjectItemCaseSensitive(socks, "stuck");

        clean = false;
        cJSON_AddItemToObject(leaked, "stuck_socket_slots", cJSON_Duplicate(st, 1));
    }
    cJSON_AddBoolToObject(o, "clean", clean);
    cJSON_AddItemToObject(o, "leaked", leaked);
    cJSON_AddNumberToObject(o, "baseline_age_s", (double)(now->taken_ns - b->taken_ns) / 1e9);
    cJSON_AddItemToObject(o, "pools", pools);
    cJSON_AddItemToObject(o, "heap", heap);
    cJSON_AddItemToObject(o, "tcp", tcp);
    cJSON_AddItemToObject(o, "sockets", socks);
    cJSON_AddItemToObject(o, "tracking", trk);
    return o;
}
