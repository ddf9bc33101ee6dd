/* SPDX-License-Identifier: MIT */
/* What an iperf3 test reports: the CPU use of the process, the results
 * JSON each end sends the other, and the lwIP client's report.
 *
 * The client's report puts its own counters and the server's results in
 * the shape of iperf3 -J's "start.test_start" and "end" sums, so that
 * scripts reading stock iperf3 output read ours too. As iperf3 does, each
 * stream has a sender and a receiver side: the local one from our counters
 * and clock, the remote one from the server's results (its end_time, or
 * our duration when it sent none). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "apps/iperf3/iperf3_priv.h"

/* ---- CPU use -------------------------------------------------------------- */

/* Note the wall clock and this process's CPU time (all threads) in M. */
void iperf3_report_cpu_mark(struct iperf3_report_cpu *m)
{
    struct rusage ru;

    m->wall_ns = iperf3_priv_now_ns();
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        memset(&ru, 0, sizeof(ru));
    m->user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
    m->sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* CPU use between marks A and B, in percent of one core, as iperf3 does. */
void iperf3_report_cpu_util(const struct iperf3_report_cpu *a, const struct iperf3_report_cpu *b,
                            double *total, double *user, double *sys)
{
    double wall_us = (double)(b->wall_ns - a->wall_ns) / 1e3;

    *user = *sys = *total = 0;
    if (wall_us <= 0)
        return;
    *user = 100.0 * (double)(b->user_us - a->user_us) / wall_us;
    *sys = 100.0 * (double)(b->sys_us - a->sys_us) / wall_us;
    *total = *user + *sys;
}

/* ---- results JSON -------------------------------------------------------- */

/* Our results JSON for the peer, for the stopped test D: CPU use between
 * C0 and C1, every stream's counters, SERVER_OUTPUT (may be NULL; not
 * freed) as server_output_text. A malloc'd string, or NULL (no memory). */
char *iperf3_report_results(const struct iperf3_streams *d, const struct iperf3_report_cpu *c0,
                            const struct iperf3_report_cpu *c1, char *server_output)
{
    struct iperf3_results r = {0};
    struct iperf3_results_stream *sr = calloc(d->n ? d->n : 1, sizeof(*sr));
    bool sends = false;
    char *json;

    if (!sr)
        return NULL;
    iperf3_report_cpu_util(c0, c1, &r.cpu_total, &r.cpu_user, &r.cpu_system);
    for (unsigned i = 0; i < d->n; i++) {
        iperf3_stream_result(d, i, &sr[i]);
        sends |= d->s[i].sender;
    }
    r.sender_has_retransmits = sends ? 0 : -1;
    r.streams = sr;
    r.nstreams = d->n;
    r.server_output_text = server_output;
    json = iperf3_results_format(&r);
    free(sr);
    return json;
}

/* ---- the client's report ------------------------------------------------- */

static const struct iperf3_results_stream *remote_stream(const struct iperf3_results *peer,
                                                         uint32_t id)
{
    for (unsigned i = 0; i < peer->nstreams; i++)
        if (peer->streams[i].id == id)
            return &peer->streams[i];
    return NULL;
}

/* One side of one stream, as -J prints it. */
struct side {
    uint64_t bytes;
    double seconds;
    int64_t retransmits; /* -1: unknown */
    int64_t packets, lost;
    double jitter;
};

static cJSON *side_json(const struct side *sd, bool udp, bool sender_flag)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "start", 0);
    cJSON_AddNumberToObject(o, "end", sd->seconds);
    cJSON_AddNumberToObject(o, "seconds", sd->seconds);
    cJSON_AddNumberToObject(o, "bytes", (double)sd->bytes);
    cJSON_AddNumberToObject(o, "bits_per_second",
                            sd->seconds > 0 ? (double)sd->bytes * 8 / sd->seconds : 0);
    if (!udp && sd->retransmits >= 0)
        cJSON_AddNumberToObject(o, "retransmits", (double)sd->retransmits);
    if (udp) {
        cJSON_AddNumberToObject(o, "jitter_ms", sd->jitter * 1e3);
        cJSON_AddNumberToObject(o, "lost_packets", (double)sd->lost);
        cJSON_AddNumberToObject(o, "packets", (double)sd->packets);
        cJSON_AddNumberToObject(o, "lost_percent",
                                sd->packets > 0 ? 100.0 * (double)sd->lost / (double)sd->packets
                                                : 0.0);
    }
    cJSON_AddBoolToObject(o, "sender", sender_flag);
    return o;
}

static void side_add(struct side *sum, const struct side *sd, unsigned *njit)
{
    sum->bytes += sd->bytes;
    if (sd->seconds > sum->seconds)
        sum->seconds = sd->seconds;
    if (sd->retransmits >= 0)
        sum->retransmits = (sum->retransmits < 0 ? 0 : sum->retransmits) + sd->retransmits;
    sum->packets += sd->packets;
    sum->lost += sd->lost;
    sum->jitter += sd->jitter;
    (*njit)++;
}

/* The client's report for a finished test: D's local counters and the
 * server's results PEER, CPU use between C0 and C1, in the shape of
 * iperf3 -J's "start.test_start", "intervals" (INTERVALS, taken over; may
 * be NULL) and "end" (streams, sum_sent, sum_received, sum for UDP,
 * *_bidir_reverse, cpu_utilization_percent), plus server_output_text when
 * the server sent one. Returns a new object (the caller owns it). */
cJSON *iperf3_report_json(const struct iperf3_streams *d, const struct iperf3_results *peer,
                          const struct iperf3_report_cpu *c0, const struct iperf3_report_cpu *c1,
                          cJSON *intervals)
{
    const struct iperf3_params *p = &d->prm;
    cJSON *top = cJSON_CreateObject(), *start = cJSON_CreateObject();
    cJSON *ts = cJSON_CreateObject(), *end = cJSON_CreateObject();
    cJSON *streams = cJSON_CreateArray(), *cpu = cJSON_CreateObject();
    double local_s = iperf3_stream_seconds(d), ut, uu, us;
    /* [set][0: sender side, 1: receiver side]; set 1 is bidir's reverse half */
    struct side sums[2][2];
    unsigned njit[2][2] = {{0, 0}, {0, 0}};
    bool used[2] = {false, false};

    memset(sums, 0, sizeof(sums));
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            sums[a][b].retransmits = -1;
    cJSON_AddNumberToObject(start, "connected", d->n);
    cJSON_AddStringToObject(ts, "protocol", p->udp ? "UDP" : "TCP");
    cJSON_AddNumberToObject(ts, "num_streams", p->parallel);
    cJSON_AddNumberToObject(ts, "blksize", p->len);
    cJSON_AddNumberToObject(ts, "omit", p->omit);
    cJSON_AddNumberToObject(ts, "duration", p->time);
    cJSON_AddNumberToObject(ts, "bytes", (double)p->num);
    cJSON_AddNumberToObject(ts, "blocks", (double)p->blockcount);
    cJSON_AddNumberToObject(ts, "reverse", p->reverse);
    cJSON_AddNumberToObject(ts, "bidir", p->bidir);
    cJSON_AddNumberToObject(ts, "tos", p->tos);
    cJSON_AddNumberToObject(ts, "target_bitrate", (double)p->bandwidth);
    cJSON_AddItemToObject(start, "test_start", ts);
    cJSON_AddItemToObject(top, "start", start);
    if (intervals)
        cJSON_AddItemToObject(top, "intervals", intervals);

    for (unsigned i = 0; i < d->n; i++) {
        const struct iperf3_stream *s = &d->s[i];
        const struct iperf3_results_stream *rr = remote_stream(peer, s->id);
        struct iperf3_results_stream lr;
        struct side local = {0}, remote = {0};
        int set = p->bidir && !s->sender ? 1 : 0;
        cJSON *o = cJSON_CreateObject();

        iperf3_stream_result(d, i, &lr);
        local.bytes = lr.bytes;
        local.seconds = local_s;
        local.retransmits = -1;
        remote.retransmits = -1;
        if (rr) {
            remote.bytes = rr->bytes;
            remote.seconds = rr->end_time >= 0 ? rr->end_time - rr->start_time : local_s;
            remote.retransmits = rr->retransmits;
        } else {
            remote.seconds = local_s;
        }
        if (p->udp) {
            if (s->sender) {
                local.packets = (int64_t)(s->packets - s->packets_omit);
                remote.packets = local.packets;
                remote.lost = rr ? rr->errors : 0;
                remote.jitter = rr ? rr->jitter : 0;
            } else {
                local.packets = (int64_t)(s->rx.max_seq - s->packets_omit);
                local.lost = (int64_t)(s->rx.errors - s->errors_omit);
                local.jitter = s->rx.jitter;
                /* what the server says it sent (3.12: a total, omit included) */
                remote.packets = rr ? rr->packets : local.packets;
            }
        }
        const struct side *snd = s->sender ? &local : &remote;
        const struct side *rcv = s->sender ? &remote : &local;
        cJSON_AddNumberToObject(o, "id", s->id);
        if (p->udp) {
            struct side u = *snd;
            u.lost = rcv->lost;
            u.jitter = rcv->jitter;
            cJSON_AddItemToObject(o, "udp", side_json(&u, true, s->sender));
        } else {
            cJSON_AddItemToObject(o, "sender", side_json(snd, false, s->sender));
            cJSON_AddItemToObject(o, "receiver", side_json(rcv, false, s->sender));
        }
        cJSON_AddItemToArray(streams, o);
        side_add(&sums[set][0], snd, &njit[set][0]);
        side_add(&sums[set][1], rcv, &njit[set][1]);
        used[set] = true;
    }
    cJSON_AddItemToObject(end, "streams", streams);
    for (int set = 0; set < 2; set++) {
        static const char *const names[2][3] = {
            {"sum_sent", "sum_received", "sum"},
            {"sum_sent_bidir_reverse", "sum_received_bidir_reverse", "sum_bidir_reverse"}};
        bool local_sends = set == 0 && !p->reverse;
        struct side *snd = &sums[set][0], *rcv = &sums[set][1];

        if (!used[set])
            continue;
        if (njit[set][1])
            rcv->jitter /= njit[set][1];
        snd->jitter = 0;
        snd->lost = 0;
        if (p->udp) {
            struct side u = *snd;
            u.lost = rcv->lost;
            u.jitter = rcv->jitter;
            u.seconds = rcv->seconds > snd->seconds ? rcv->seconds : snd->seconds;
            cJSON_AddItemToObject(end, names[set][2], side_json(&u, true, local_sends));
        }
        cJSON_AddItemToObject(end, names[set][0], side_json(snd, p->udp, local_sends));
        cJSON_AddItemToObject(end, names[set][1], side_json(rcv, p->udp, local_sends));
    }
    iperf3_report_cpu_util(c0, c1, &ut, &uu, &us);
    cJSON_AddNumberToObject(cpu, "host_total", ut);
    cJSON_AddNumberToObject(cpu, "host_user", uu);
    cJSON_AddNumberToObject(cpu, "host_system", us);
    cJSON_AddNumberToObject(cpu, "remote_total", peer->cpu_total);
    cJSON_AddNumberToObject(cpu, "remote_user", peer->cpu_user);
    cJSON_AddNumberToObject(cpu, "remote_system", peer->cpu_system);
    cJSON_AddItemToObject(end, "cpu_utilization_percent", cpu);
    cJSON_AddItemToObject(top, "end", end);
    if (peer->server_output_text)
        cJSON_AddStringToObject(top, "server_output_text", peer->server_output_text);
    return top;
}
