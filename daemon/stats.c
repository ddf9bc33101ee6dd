/* SPDX-License-Identifier: MIT */
/* Statistics as JSON. lwIP's counters are copied under SYS_ARCH_PROTECT
 * rather than in the tcpip thread, so `stats` still answers when the stack
 * is wedged, which is when it matters most. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/stats.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/stats.h"
#include "lwip/sys.h"

#include "apps/churn.h"
#include "apps/echo.h"
#include "apps/iperf3/iperf3.h"
#include "apps/lwiperf_app.h"
#include "apps/lwip_apps/lwip_apps.h"
#include "apps/lwping.h"
#include "daemon/app.h"
#include "base/names.h"
#include "capture/capture.h"
#include "base/events.h"
#include "fault_inject/alloc.h"
#include "fault_inject/alloc_pools.h"
#include "fault_inject/fault.h"
#include "daemon/daemon_priv.h"
#include "diag/leaks.h"
#include "netif_tap/netif_tap.h"
#include "crash/fatal.h"
#include "mcu/irq.h"

struct snapshot {
    struct stats_ s;
    struct stats_mem memp[MEMP_MAX];
};

/* Copy lwIP's counters; LOCKED takes SYS_ARCH_PROTECT for a consistent
 * copy (not on the crash path: a frozen thread may hold it). */
static void snapshot_take(struct snapshot *snap, int locked)
{
    SYS_ARCH_DECL_PROTECT(lev);

    if (locked)
        SYS_ARCH_PROTECT(lev);
    snap->s = lwip_stats;
    for (int i = 0; i < MEMP_MAX; i++) {
        if (lwip_stats.memp[i])
            snap->memp[i] = *lwip_stats.memp[i];
        else
            memset(&snap->memp[i], 0, sizeof(snap->memp[i]));
    }
    if (locked)
        SYS_ARCH_UNPROTECT(lev);
}

/* One counter of a struct: its JSON name, where it is and how wide (an
 * unsigned integer of 1, 2, 4 or 8 bytes). The writers below are tables of
 * these, so a struct's counters are listed once. */
struct stats_field {
    const char *name;
    size_t off;
    size_t size;
};

/* clang-format off */
#define STATS_FIELD(type, f) {#f, offsetof(type, f), sizeof(((type *)0)->f)}
/* clang-format on */
#define STATS_NFIELDS(table) (sizeof(table) / sizeof((table)[0]))

/* Add TABLE's counters of the struct at S to O. */
static void add_fields(cJSON *o, const void *s, const struct stats_field *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)s + t[i].off;
        uint64_t v;

        switch (t[i].size) {
        case 1:
            v = *p;
            break;
        case 2:
            v = *(const uint16_t *)p;
            break;
        case 4:
            v = *(const uint32_t *)p;
            break;
        default:
            v = *(const uint64_t *)p;
            break;
        }
        cJSON_AddNumberToObject(o, t[i].name, (double)v);
    }
}

/* A new object with TABLE's counters of the struct at S. */
static cJSON *fields_json(const void *s, const struct stats_field *t, size_t n)
{
    cJSON *o = cJSON_CreateObject();

    add_fields(o, s, t, n);
    return o;
}

#define P(f) STATS_FIELD(struct stats_proto, f)
static const struct stats_field proto_fields[] = {
    P(xmit),   P(recv),  P(fw),      P(drop),   P(chkerr), P(lenerr),
    P(memerr), P(rterr), P(proterr), P(opterr), P(err),    P(cachehit),
};
#undef P

#if LWIP_IGMP && IGMP_STATS
/* lwIP's struct stats_igmp (the same in 2.0.x, 2.1.x and 2.2.x). */
#define G(f) STATS_FIELD(struct stats_igmp, f)
static const struct stats_field igmp_fields[] = {
    G(xmit),  G(recv),     G(drop),       G(chkerr),    G(lenerr),  G(memerr),   G(proterr),
    G(rx_v1), G(rx_group), G(rx_general), G(rx_report), G(tx_join), G(tx_leave), G(tx_report),
};
#undef G
#endif

#define M(f) STATS_FIELD(struct stats_mem, f)
static const struct stats_field mem_fields[] = {M(avail), M(used), M(max), M(err), M(illegal)};
#undef M

#define E(f) STATS_FIELD(struct stats_syselem, f)
static const struct stats_field syselem_fields[] = {E(used), E(max), E(err)};
#undef E

/* lwIP's counter groups in struct stats_, in the document's order. */
struct stats_group {
    const char *name;
    size_t off;
    const struct stats_field *fields;
    size_t n;
};

/* clang-format off */
#define PROTO(g) {#g, offsetof(struct stats_, g), proto_fields, STATS_NFIELDS(proto_fields)}
#define SYS(g) {#g, offsetof(struct stats_, sys.g), syselem_fields, STATS_NFIELDS(syselem_fields)}
/* clang-format on */
static const struct stats_group lwip_groups[] = {
    PROTO(link),
    PROTO(etharp),
#if IPFRAG_STATS
    PROTO(ip_frag),
#endif
    PROTO(ip),
    PROTO(icmp),
#if LWIP_IGMP && IGMP_STATS
    {"igmp", offsetof(struct stats_, igmp), igmp_fields, STATS_NFIELDS(igmp_fields)},
#endif
    PROTO(udp),
    PROTO(tcp),
    {"mem", offsetof(struct stats_, mem), mem_fields, STATS_NFIELDS(mem_fields)},
};
static const struct stats_group sys_groups[] = {SYS(sem), SYS(mutex), SYS(mbox)};
#undef PROTO
#undef SYS

/* Add each of GROUPS of the struct at S to O, as an object by its name. */
static void add_groups(cJSON *o, const void *s, const struct stats_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToObject(o, g[i].name,
                              fields_json((const char *)s + g[i].off, g[i].fields, g[i].n));
}

#if MIB2_STATS
#define X(f) STATS_FIELD(struct stats_mib2, f)
static const struct stats_field mib2_fields[] = {
    X(ipinhdrerrors),       X(ipinaddrerrors),     X(ipinunknownprotos), X(ipindiscards),
    X(ipindelivers),        X(ipoutrequests),      X(ipoutdiscards),     X(ipoutnoroutes),
    X(ipreasmoks),          X(ipreasmfails),       X(ipfragoks),         X(ipfragfails),
    X(ipfragcreates),       X(ipreasmreqds),       X(ipforwdatagrams),   X(ipinreceives),
    X(tcpactiveopens),      X(tcppassiveopens),    X(tcpattemptfails),   X(tcpestabresets),
    X(tcpoutsegs),          X(tcpretranssegs),     X(tcpinsegs),         X(tcpinerrs),
    X(tcpoutrsts),          X(udpindatagrams),     X(udpnoports),        X(udpinerrors),
    X(udpoutdatagrams),     X(icmpinmsgs),         X(icmpinerrors),      X(icmpindestunreachs),
    X(icmpintimeexcds),     X(icmpinparmprobs),    X(icmpinsrcquenchs),  X(icmpinredirects),
    X(icmpinechos),         X(icmpinechoreps),     X(icmpintimestamps),  X(icmpintimestampreps),
    X(icmpinaddrmasks),     X(icmpinaddrmaskreps), X(icmpoutmsgs),       X(icmpouterrors),
    X(icmpoutdestunreachs), X(icmpouttimeexcds),   X(icmpoutechos),      X(icmpoutechoreps)};
#undef X
#endif

#define T(f) STATS_FIELD(struct netif_tap_stats, f)
/* clang-format off */
static const struct stats_field driver_fields[] = {
    T(rx_frames), T(rx_bytes), T(rx_errors), T(rx_nomem), T(rx_input_fail), T(rx_link_down),
    T(rx_batches), T(rx_oversize), T(tx_frames), T(tx_bytes), T(tx_errors), T(tx_ring_full),
    T(tx_link_down), T(ring_size), T(ring_used), T(ring_max_used), T(ring_reclaimed_inline),
    T(ring_full_waits), T(ring_doorbell_writes), T(txc_isr_runs), T(free_isr), T(free_callback),
    T(free_task), T(free_callback_fail), T(link_changes), T(rx_fault_drop), T(tx_fault_drop),
    T(irq_lost), T(irq_spurious), T(tap_losses), T(tap_reattaches), T(rt_threads),
    T(driver_bug_acts),
};
/* clang-format on */
#undef T

#define L(f) STATS_FIELD(struct irq_line_stats, f)
static const struct stats_field irq_line_fields[] = {L(raised), L(coalesced), L(serviced),
                                                     L(deferred), L(forwarded)};
#undef L

#define C(f) STATS_FIELD(struct churn_stats, f)
static const struct stats_field churn_fields[] = {
    C(accepted),     C(closed),          C(close_errors),    C(in_use),
    C(max_in_use),   C(requests),        C(bytes_echoed),    C(closes_peer),
    C(closes_idle),  C(closes_requests), C(closes_random),   C(closes_during_select),
    C(select_calls), C(select_wakeups),  C(select_timeouts), C(serialize_waits),
};
#undef C

#define I(f) STATS_FIELD(struct iperf3_stats, f)
static const struct stats_field iperf3_fields[] = {
    I(tests_started), I(tests_completed), I(refused),    I(errors),      I(aborted),
    I(timeouts),      I(bytes_received),  I(bytes_sent), I(client_runs), I(client_errors),
};
#undef I

#define S(f) STATS_FIELD(struct echo_svc_stats, f)
static const struct stats_field echo_fields[] = {
    S(tcp_accepted),     S(tcp_active),        S(tcp_bytes_in), S(tcp_bytes_out),
    S(udp_datagrams_in), S(udp_datagrams_out), S(errors),       S(tcp_idle_closed),
};
#undef S

static cJSON *lwip_json(const struct snapshot *snap)
{
    const struct stats_ *s = &snap->s;
    cJSON *o = cJSON_CreateObject();
    cJSON *memp = cJSON_CreateObject();
    cJSON *sys = cJSON_CreateObject();

    add_groups(o, s, lwip_groups, STATS_NFIELDS(lwip_groups));
    for (int i = 0; i < MEMP_MAX; i++)
        cJSON_AddItemToObject(memp, leaks_pool_name((unsigned)i),
                              fields_json(&snap->memp[i], mem_fields, STATS_NFIELDS(mem_fields)));
    cJSON_AddItemToObject(o, "memp", memp);
    add_groups(sys, s, sys_groups, STATS_NFIELDS(sys_groups));
    cJSON_AddItemToObject(o, "sys", sys);
#if MIB2_STATS
    cJSON_AddItemToObject(o, "mib2",
                          fields_json(&s->mib2, mib2_fields, STATS_NFIELDS(mib2_fields)));
#endif
    return o;
}

static cJSON *driver_json(struct netif_tap *tap)
{
    struct netif_tap_stats st;
    cJSON *o = cJSON_CreateObject();

    netif_tap_get_stats(tap, &st);
    add_fields(o, &st, driver_fields, STATS_NFIELDS(driver_fields));
    cJSON_AddBoolToObject(o, "link_up", st.link_up);
    cJSON_AddBoolToObject(o, "tap_present", !st.tap_lost);
    return o;
}

static cJSON *irq_json(struct netif_tap *tap)
{
    cJSON *o = cJSON_CreateObject();
    struct irq_line *l = netif_tap_txc_irq(tap);

    cJSON_AddStringToObject(o, "policy", irq_policy_name(irq_policy()));
    cJSON_AddNumberToObject(o, "violations", (double)irq_violation_count());
    if (l) {
        struct irq_line_stats st;
        cJSON *line = cJSON_CreateObject();

        irq_line_get_stats(l, &st);
        cJSON_AddNumberToObject(line, "signal", irq_line_signo(l));
        add_fields(line, &st, irq_line_fields, STATS_NFIELDS(irq_line_fields));
        cJSON_AddItemToObject(o, irq_line_name(l), line);
    }
    return o;
}

/* {"ENFILE": n, ...}: an errno table by name. */
cJSON *stats_errno_json(const struct churn_errcount *tab, int n)
{
    cJSON *o = cJSON_CreateObject();

    for (int i = 0; i < n && tab[i].n; i++) {
        const char *name = strerrorname_np(tab[i].err);
        char buf[16];

        if (!name) {
            snprintf(buf, sizeof(buf), "E%d", tab[i].err);
            name = buf;
        }
        cJSON_AddNumberToObject(o, name, (double)tab[i].n);
    }
    return o;
}

static cJSON *churn_json(void)
{
    struct churn_stats st;
    cJSON *o = cJSON_CreateObject();

    churn_get_stats(&st);
    cJSON_AddBoolToObject(o, "running", st.running);
    cJSON_AddBoolToObject(o, "serialize", st.serialize);
    cJSON_AddNumberToObject(o, "port", st.port);
    cJSON_AddNumberToObject(o, "listen_fd", churn_listen_fd());
    add_fields(o, &st, churn_fields, STATS_NFIELDS(churn_fields));
    cJSON_AddItemToObject(o, "accept_fail", stats_errno_json(st.accept_fail, CHURN_ERRNO_SLOTS));
    cJSON_AddItemToObject(o, "socket_fail", stats_errno_json(st.socket_fail, CHURN_ERRNO_SLOTS));
    cJSON_AddItemToObject(o, "select_fail", stats_errno_json(st.select_fail, CHURN_ERRNO_SLOTS));
    return o;
}

static cJSON *iperf3_json(void)
{
    struct iperf3_stats st;
    cJSON *o = cJSON_CreateObject();

    iperf3_server_stats(&st);
    iperf3_client_stats(&st);
    cJSON_AddBoolToObject(o, "server", st.server_enabled);
    cJSON_AddNumberToObject(o, "port", st.port);
    cJSON_AddStringToObject(o, "state", st.state);
    cJSON_AddNumberToObject(o, "pending", st.pending);
    add_fields(o, &st, iperf3_fields, STATS_NFIELDS(iperf3_fields));
    cJSON_AddBoolToObject(o, "client_running", st.client_running);
    return o;
}

static cJSON *apps_json(int unlocked)
{
    cJSON *o = cJSON_CreateObject();
    struct lwiperf_app_stats lw;
    cJSON *lo = cJSON_CreateObject();

    for (int s = 0; s < ECHO_SVC_COUNT; s++) {
        struct echo_svc_stats st;

        echo_get_stats((enum echo_service)s, &st);
        cJSON_AddItemToObject(o, echo_service_name((enum echo_service)s),
                              fields_json(&st, echo_fields, STATS_NFIELDS(echo_fields)));
    }
    lwiperf_app_get_stats(&lw);
    cJSON_AddNumberToObject(lo, "sessions", (double)lw.sessions);
    cJSON_AddNumberToObject(lo, "last_bytes", (double)lw.bytes);
    cJSON_AddNumberToObject(lo, "last_ms", lw.ms);
    cJSON_AddNumberToObject(lo, "last_kbit_per_s", lw.kbit_per_s);
    cJSON_AddNumberToObject(lo, "total_bytes", (double)lw.total_bytes);
    cJSON_AddItemToObject(o, "lwiperf", lo);
    cJSON *po = cJSON_CreateObject();
    cJSON_AddBoolToObject(po, "running", lwping_running());
    cJSON_AddNumberToObject(po, "runs", (double)lwping_runs());
    cJSON_AddItemToObject(o, "ping", po);
    cJSON_AddItemToObject(o, "churn", churn_json());
    cJSON_AddItemToObject(o, "iperf3", iperf3_json());
    cJSON_AddItemToObject(o, "lwip", lwip_apps_json());
    app_stats_json(o, unlocked); /* the --app modules' counters, by app name */
    return o;
}

/* F's rules with their counters, as an array (lwipctl fault list, stats). */
/* Allocation failures the alloc rules injected, for the pools (and the
 * heap) that had any: {"injected": {"TCP_PCB": 3}, "total": 3}. Only those:
 * the stats answer stays as small as it was for a daemon without them. */
static cJSON *alloc_json(void)
{
    cJSON *o = cJSON_CreateObject(), *inj = cJSON_CreateObject();
    uint64_t total = 0;

    for (int p = ALLOC_POOL_HEAP; p < alloc_pool_count(); p++) {
        uint64_t n = alloc_injected(p);
        if (n)
            cJSON_AddNumberToObject(inj, alloc_pool_name(p), (double)n);
        total += n;
    }
    cJSON_AddItemToObject(o, "injected", inj);
    cJSON_AddNumberToObject(o, "total", (double)total);
    return o;
}

cJSON *stats_fault_rules_json(struct fault *f)
{
    struct fault_rule_info *info = calloc(FAULT_MAX_RULES, sizeof(*info));
    cJSON *rules = cJSON_CreateArray();
    size_t n = info ? fault_list(f, info, FAULT_MAX_RULES) : 0;

    for (size_t i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "id", info[i].id);
        cJSON_AddStringToObject(r, "rule", info[i].text);
        cJSON_AddNumberToObject(r, "matched", (double)info[i].matched);
        cJSON_AddNumberToObject(r, "acted", (double)info[i].acted);
        cJSON_AddItemToArray(rules, r);
    }
    free(info);
    return rules;
}

/* The whole statistics document; NULL on OOM. UNLOCKED: read the counters
 * without taking lwIP's protection (crash reports). */
cJSON *stats_json_ex(struct daemon *d, int unlocked)
{
    struct snapshot *snap = fatal_alloc(sizeof(*snap)); /* crash reports come here */
    cJSON *o = cJSON_CreateObject();

    if (!snap || !o) {
        fatal_free(snap);
        cJSON_Delete(o);
        return NULL;
    }
    snapshot_take(snap, !unlocked);
    cJSON_AddItemToObject(o, "lwip", lwip_json(snap));
    fatal_free(snap);
    cJSON_AddItemToObject(o, "driver", driver_json(d->tap));
    cJSON_AddItemToObject(o, "irq", irq_json(d->tap));
    cJSON_AddItemToObject(o, "apps", apps_json(unlocked));
    if (d->capture) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddBoolToObject(c, "running", capture_running(d->capture));
        cJSON_AddStringToObject(c, "path", capture_path(d->capture));
        cJSON_AddNumberToObject(c, "frames", (double)capture_frames(d->capture));
        cJSON_AddNumberToObject(c, "rotations", (double)capture_rotations(d->capture));
        cJSON_AddNumberToObject(c, "errno", capture_error(d->capture));
        cJSON_AddItemToObject(o, "capture", c);
    }
    if (d->fault && !unlocked) {
        struct fault_stats fs;
        cJSON *f = cJSON_CreateObject();

        fault_get_stats(d->fault, &fs);
        cJSON_AddItemToObject(f, "rules", stats_fault_rules_json(d->fault));
        cJSON_AddNumberToObject(f, "delayed_now", (double)fs.delayed_now);
        cJSON_AddNumberToObject(f, "delay_overflow", (double)fs.delay_overflow);
        cJSON_AddNumberToObject(f, "released", (double)fs.released);
        cJSON_AddItemToObject(f, "alloc", alloc_json());
        cJSON_AddItemToObject(o, "fault", f);
    }
    cJSON_AddNumberToObject(o, "events", (double)events_count());
    return o;
}

cJSON *stats_json(struct daemon *d)
{
    return stats_json_ex(d, 0);
}
