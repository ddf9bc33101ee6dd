/* SPDX-License-Identifier: MIT */
/* Statistics as JSON. lwIP's counters are copied under SYS_ARCH_PROTECT
 * rather than in the tcpip thread, so `stats` still answers when the stack
 * is wedged, which is when it matters most. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/stats.h"

#include <cjson/cJSON.h>
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
#include "apps/lwping.h"
#include "capture/capture.h"
#include "base/events.h"
#include "fault_inject/fault.h"
#include "daemon/daemon.h"
#include "netif_tap/netif_tap.h"
#include "crash/fatal.h"
#include "mcu/irq.h"

/* Pool names in MEMP_* order, from lwIP's own list. */
static const char *const memp_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

#define MIB2_FIELDS(X)                                                                             \
    X(ipinhdrerrors)                                                                               \
    X(ipinaddrerrors)                                                                              \
    X(ipinunknownprotos)                                                                           \
    X(ipindiscards)                                                                                \
    X(ipindelivers)                                                                                \
    X(ipoutrequests)                                                                               \
    X(ipoutdiscards)                                                                               \
    X(ipoutnoroutes)                                                                               \
    X(ipreasmoks)                                                                                  \
    X(ipreasmfails)                                                                                \
    X(ipfragoks)                                                                                   \
    X(ipfragfails)                                                                                 \
    X(ipfragcreates)                                                                               \
    X(ipreasmreqds)                                                                                \
    X(ipforwdatagrams)                                                                             \
    X(ipinreceives)                                                                                \
    X(tcpactiveopens)                                                                              \
    X(tcppassiveopens)                                                                             \
    X(tcpattemptfails)                                                                             \
    X(tcpestabresets)                                                                              \
    X(tcpoutsegs)                                                                                  \
    X(tcpretranssegs)                                                                              \
    X(tcpinsegs)                                                                                   \
    X(tcpinerrs)                                                                                   \
    X(tcpoutrsts)                                                                                  \
    X(udpindatagrams)                                                                              \
    X(udpnoports)                                                                                  \
    X(udpinerrors)                                                                                 \
    X(udpoutdatagrams)                                                                             \
    X(icmpinmsgs)                                                                                  \
    X(icmpinerrors)                                                                                \
    X(icmpindestunreachs)                                                                          \
    X(icmpintimeexcds)                                                                             \
    X(icmpinparmprobs)                                                                             \
    X(icmpinsrcquenchs)                                                                            \
    X(icmpinredirects)                                                                             \
    X(icmpinechos)                                                                                 \
    X(icmpinechoreps)                                                                              \
    X(icmpintimestamps)                                                                            \
    X(icmpintimestampreps)                                                                         \
    X(icmpinaddrmasks)                                                                             \
    X(icmpinaddrmaskreps)                                                                          \
    X(icmpoutmsgs)                                                                                 \
    X(icmpouterrors)                                                                               \
    X(icmpoutdestunreachs)                                                                         \
    X(icmpouttimeexcds)                                                                            \
    X(icmpoutechos)                                                                                \
    X(icmpoutechoreps)

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

static cJSON *proto_json(const struct stats_proto *p)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "xmit", p->xmit);
    cJSON_AddNumberToObject(o, "recv", p->recv);
    cJSON_AddNumberToObject(o, "fw", p->fw);
    cJSON_AddNumberToObject(o, "drop", p->drop);
    cJSON_AddNumberToObject(o, "chkerr", p->chkerr);
    cJSON_AddNumberToObject(o, "lenerr", p->lenerr);
    cJSON_AddNumberToObject(o, "memerr", p->memerr);
    cJSON_AddNumberToObject(o, "rterr", p->rterr);
    cJSON_AddNumberToObject(o, "proterr", p->proterr);
    cJSON_AddNumberToObject(o, "opterr", p->opterr);
    cJSON_AddNumberToObject(o, "err", p->err);
    cJSON_AddNumberToObject(o, "cachehit", p->cachehit);
    return o;
}

#if LWIP_IGMP && IGMP_STATS
/* lwIP's struct stats_igmp, field for field (the same in 2.0.x, 2.1.x and
 * 2.2.x). */
static cJSON *igmp_json(const struct stats_igmp *g)
{
    cJSON *o = cJSON_CreateObject();

#define N(f) cJSON_AddNumberToObject(o, #f, g->f)
    N(xmit), N(recv), N(drop), N(chkerr), N(lenerr), N(memerr), N(proterr);
    N(rx_v1), N(rx_group), N(rx_general), N(rx_report), N(tx_join), N(tx_leave), N(tx_report);
#undef N
    return o;
}
#endif

static cJSON *mem_json(const struct stats_mem *m)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "avail", m->avail);
    cJSON_AddNumberToObject(o, "used", m->used);
    cJSON_AddNumberToObject(o, "max", m->max);
    cJSON_AddNumberToObject(o, "err", m->err);
    cJSON_AddNumberToObject(o, "illegal", m->illegal);
    return o;
}

static cJSON *syselem_json(const struct stats_syselem *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "used", e->used);
    cJSON_AddNumberToObject(o, "max", e->max);
    cJSON_AddNumberToObject(o, "err", e->err);
    return o;
}

static cJSON *lwip_json(const struct snapshot *snap)
{
    const struct stats_ *s = &snap->s;
    cJSON *o = cJSON_CreateObject();
    cJSON *memp = cJSON_CreateObject();
    cJSON *sys = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "link", proto_json(&s->link));
    cJSON_AddItemToObject(o, "etharp", proto_json(&s->etharp));
#if IPFRAG_STATS
    cJSON_AddItemToObject(o, "ip_frag", proto_json(&s->ip_frag));
#endif
    cJSON_AddItemToObject(o, "ip", proto_json(&s->ip));
    cJSON_AddItemToObject(o, "icmp", proto_json(&s->icmp));
#if LWIP_IGMP && IGMP_STATS
    cJSON_AddItemToObject(o, "igmp", igmp_json(&s->igmp));
#endif
    cJSON_AddItemToObject(o, "udp", proto_json(&s->udp));
    cJSON_AddItemToObject(o, "tcp", proto_json(&s->tcp));
    cJSON_AddItemToObject(o, "mem", mem_json(&s->mem));
    for (int i = 0; i < MEMP_MAX; i++)
        cJSON_AddItemToObject(memp, memp_names[i], mem_json(&snap->memp[i]));
    cJSON_AddItemToObject(o, "memp", memp);
    cJSON_AddItemToObject(sys, "sem", syselem_json(&s->sys.sem));
    cJSON_AddItemToObject(sys, "mutex", syselem_json(&s->sys.mutex));
    cJSON_AddItemToObject(sys, "mbox", syselem_json(&s->sys.mbox));
    cJSON_AddItemToObject(o, "sys", sys);
#if MIB2_STATS
    cJSON *mib2 = cJSON_CreateObject();
#define X(f) cJSON_AddNumberToObject(mib2, #f, s->mib2.f);
    MIB2_FIELDS(X)
#undef X
    cJSON_AddItemToObject(o, "mib2", mib2);
#endif
    return o;
}

static cJSON *driver_json(struct netif_tap *tap)
{
    struct netif_tap_stats st;
    cJSON *o = cJSON_CreateObject();

    netif_tap_get_stats(tap, &st);
#define N(f) cJSON_AddNumberToObject(o, #f, (double)st.f)
    N(rx_frames), N(rx_bytes), N(rx_errors), N(rx_nomem), N(rx_input_fail), N(rx_link_down);
    N(rx_batches), N(rx_oversize), N(tx_frames), N(tx_bytes), N(tx_errors), N(tx_ring_full),
        N(tx_link_down);
    N(ring_size), N(ring_used), N(ring_max_used), N(ring_reclaimed_inline), N(ring_full_waits);
    N(ring_doorbell_writes);
    N(txc_isr_runs), N(free_isr), N(free_callback), N(free_task), N(free_callback_fail);
    N(link_changes), N(rx_fault_drop), N(tx_fault_drop), N(irq_lost), N(irq_spurious);
    N(tap_losses), N(tap_reattaches), N(rt_threads);
#undef N
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
        cJSON_AddNumberToObject(line, "raised", (double)st.raised);
        cJSON_AddNumberToObject(line, "coalesced", (double)st.coalesced);
        cJSON_AddNumberToObject(line, "serviced", (double)st.serviced);
        cJSON_AddNumberToObject(line, "deferred", (double)st.deferred);
        cJSON_AddNumberToObject(line, "forwarded", (double)st.forwarded);
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
#define N(f) cJSON_AddNumberToObject(o, #f, (double)st.f)
    N(accepted), N(closed), N(close_errors), N(in_use), N(max_in_use), N(requests);
    N(bytes_echoed), N(closes_peer), N(closes_idle), N(closes_requests), N(closes_random);
    N(closes_during_select), N(select_calls), N(select_wakeups), N(select_timeouts);
    N(serialize_waits);
#undef N
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
#define N(f) cJSON_AddNumberToObject(o, #f, (double)st.f)
    N(tests_started), N(tests_completed), N(refused), N(errors), N(aborted), N(timeouts);
    N(bytes_received), N(bytes_sent), N(client_runs), N(client_errors);
#undef N
    cJSON_AddBoolToObject(o, "client_running", st.client_running);
    return o;
}

static cJSON *apps_json(void)
{
    cJSON *o = cJSON_CreateObject();
    struct lwiperf_app_stats lw;
    cJSON *lo = cJSON_CreateObject();

    for (int s = 0; s < ECHO_SVC_COUNT; s++) {
        struct echo_svc_stats st;
        cJSON *e = cJSON_CreateObject();

        echo_get_stats((enum echo_service)s, &st);
#define N(f) cJSON_AddNumberToObject(e, #f, (double)st.f)
        N(tcp_accepted), N(tcp_active), N(tcp_bytes_in), N(tcp_bytes_out);
        N(udp_datagrams_in), N(udp_datagrams_out), N(errors);
#undef N
        cJSON_AddItemToObject(o, echo_service_name((enum echo_service)s), e);
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
    return o;
}

/* F's rules with their counters, as an array (lwipctl fault list, stats). */
cJSON *fault_rules_json(struct fault *f)
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
    cJSON_AddItemToObject(o, "apps", apps_json());
    if (d->capture) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddBoolToObject(c, "running", capture_running(d->capture));
        cJSON_AddStringToObject(c, "path", capture_path(d->capture));
        cJSON_AddNumberToObject(c, "frames", (double)capture_frames(d->capture));
        cJSON_AddNumberToObject(c, "rotations", (double)capture_rotations(d->capture));
        cJSON_AddItemToObject(o, "capture", c);
    }
    if (d->fault && !unlocked) {
        struct fault_stats fs;
        cJSON *f = cJSON_CreateObject();

        fault_get_stats(d->fault, &fs);
        cJSON_AddItemToObject(f, "rules", fault_rules_json(d->fault));
        cJSON_AddNumberToObject(f, "delayed_now", (double)fs.delayed_now);
        cJSON_AddNumberToObject(f, "delay_overflow", (double)fs.delay_overflow);
        cJSON_AddNumberToObject(f, "released", (double)fs.released);
        cJSON_AddItemToObject(o, "fault", f);
    }
    cJSON_AddNumberToObject(o, "events", (double)events_count());
    return o;
}

cJSON *stats_json(struct daemon *d)
{
    return stats_json_ex(d, 0);
}
