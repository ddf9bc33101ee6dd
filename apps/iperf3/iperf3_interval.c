/* SPDX-License-Identifier: MIT */
/* The lwIP client's per-interval results (iperf3 -i), in the shape of
 * iperf3 -J's "intervals": every interval, one object per stream (socket,
 * start, end, seconds, bytes, bits_per_second, then what iperf3 adds for
 * the kind of stream, omitted, sender) and a "sum" per direction
 * ("sum_bidir_reverse" for --bidir's reverse half).
 *
 * The clock is iperf3 3.12's, as its -J output shows: times count from
 * TEST_START; at the end of the omit period the interval under way is
 * closed (marked omitted) and the clock starts again from 0, so the
 * measured intervals line up with the "end" sums, which also leave the
 * omit period out. A last interval shorter than a tenth of the period is
 * left out, as iperf3 leaves out such timer artifacts.
 *
 * What lwIP does not keep is left out rather than made up: no
 * "retransmits" (lwIP counts retransmissions for the whole stack, in
 * MIB2, and not all of them), no "rtt" (lwIP's estimate counts 500 ms
 * ticks). A TCP sender's "snd_cwnd" and "snd_wnd" are its pcb's cwnd and
 * snd_wnd, in bytes, as iperf3's are.
 */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_interval.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "apps/iperf3/iperf3_priv.h"

#define NS_PER_MS 1000000ull

/* One direction's sum over an interval. */
struct sum {
    uint64_t bytes, packets, lost;
    double jitter;
    unsigned n;
    bool sender, udp_rx, used;
};

/* S's counters now, or (AT_OMIT_END) as they were when the omit period
 * ended. */
static void mark_of(const struct iperf3_stream *s, bool at_omit_end,
                    struct iperf3_interval_mark *out)
{
    if (at_omit_end) {
        out->bytes = s->bytes_omit;
        out->packets = s->packets_omit;
        out->errors = s->errors_omit;
        return;
    }
    out->bytes = s->bytes;
    out->packets = s->sender ? s->packets : s->rx.max_seq;
    out->errors = s->rx.errors;
}

/* start, end, seconds, bytes, bits_per_second into O. */
static void add_span(cJSON *o, double start, double end, uint64_t bytes)
{
    double secs = end - start;

    cJSON_AddNumberToObject(o, "start", start);
    cJSON_AddNumberToObject(o, "end", end);
    cJSON_AddNumberToObject(o, "seconds", secs);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "bits_per_second", secs > 0 ? (double)bytes * 8 / secs : 0);
}

/* A UDP receiver's jitter_ms, lost_packets, packets, lost_percent. */
static void add_udp_rx(cJSON *o, double jitter_s, uint64_t lost, uint64_t packets)
{
    cJSON_AddNumberToObject(o, "jitter_ms", jitter_s * 1e3);
    cJSON_AddNumberToObject(o, "lost_packets", (double)lost);
    cJSON_AddNumberToObject(o, "packets", (double)packets);
    cJSON_AddNumberToObject(o, "lost_percent",
                            packets ? 100.0 * (double)lost / (double)packets : 0.0);
}

/* Stream S's entry for the interval START..END (seconds), its counters
 * having gone from WAS to NOW; adds it to SUM. */
static cJSON *stream_json(const struct iperf3_streams *d, const struct iperf3_stream *s,
                          const struct iperf3_interval_mark *was,
                          const struct iperf3_interval_mark *now, double start, double end,
                          bool omitted, struct sum *sum)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t bytes = now->bytes - was->bytes;
    uint64_t packets = now->packets - was->packets;
    uint64_t lost = now->errors >= was->errors ? now->errors - was->errors : 0;

    cJSON_AddNumberToObject(o, "socket", s->id);
    add_span(o, start, end, bytes);
    if (!d->prm.udp && s->sender && s->pcb) {
        cJSON_AddNumberToObject(o, "snd_cwnd", s->pcb->cwnd);
        cJSON_AddNumberToObject(o, "snd_wnd", s->pcb->snd_wnd);
    }
    if (d->prm.udp && s->sender)
        cJSON_AddNumberToObject(o, "packets", (double)packets);
    if (d->prm.udp && !s->sender)
        add_udp_rx(o, s->rx.jitter, lost, packets);
    cJSON_AddBoolToObject(o, "omitted", omitted);
    cJSON_AddBoolToObject(o, "sender", s->sender);
    sum->bytes += bytes;
    sum->packets += packets;
    sum->lost += s->sender ? 0 : lost;
    sum->jitter += s->rx.jitter;
    sum->n++;
    sum->sender = s->sender;
    sum->udp_rx = d->prm.udp && !s->sender;
    sum->used = true;
    return o;
}

static cJSON *sum_json(const struct sum *sm, bool udp, double start, double end, bool omitted)
{
    cJSON *o = cJSON_CreateObject();

    add_span(o, start, end, sm->bytes);
    if (udp && sm->udp_rx)
        add_udp_rx(o, sm->n ? sm->jitter / sm->n : 0, sm->lost, sm->packets);
    else if (udp)
        cJSON_AddNumberToObject(o, "packets", (double)sm->packets);
    cJSON_AddBoolToObject(o, "omitted", omitted);
    cJSON_AddBoolToObject(o, "sender", sm->sender);
    return o;
}

/* Hand O to the callback, then keep it for the report (or drop it past
 * the cap). */
static void deliver(struct iperf3_intervals *iv, cJSON *o)
{
    if (iv->cb && iv->cb(iv->arg, o) < 0)
        iv->cb = NULL; /* the reader has gone: go on counting, stop telling */
    if (iv->all && (uint64_t)(iv->kept + 1) * (iv->n + 2) <= IPERF3_INTERVAL_MAX_ENTRIES) {
        cJSON_AddItemToArray(iv->all, o);
        iv->kept++;
    } else {
        cJSON_Delete(o);
        iv->dropped++;
    }
}

/* Close the interval under way at TO_NS (AT_OMIT_END: at the end of the
 * omit period, with the counters as they were then). */
static void emit(struct iperf3_intervals *iv, const struct iperf3_streams *d, uint64_t to_ns,
                 bool at_omit_end)
{
    double start = (double)(iv->from_ns - iv->base_ns) / 1e9;
    double end = (double)(to_ns - iv->base_ns) / 1e9;
    struct sum sums[2];
    cJSON *o = cJSON_CreateObject(), *streams = cJSON_AddArrayToObject(o, "streams");

    memset(sums, 0, sizeof(sums));
    for (unsigned i = 0; i < iv->n && i < d->n; i++) {
        const struct iperf3_stream *s = &d->s[i];
        struct iperf3_interval_mark now;
        int set = d->prm.bidir && !s->sender ? 1 : 0;

        mark_of(s, at_omit_end, &now);
        cJSON_AddItemToArray(
            streams, stream_json(d, s, &iv->m[i], &now, start, end, iv->omitted, &sums[set]));
        iv->m[i] = now;
    }
    cJSON_AddItemToObject(o, "sum", sum_json(&sums[0], d->prm.udp, start, end, iv->omitted));
    if (sums[1].used)
        cJSON_AddItemToObject(o, "sum_bidir_reverse",
                              sum_json(&sums[1], d->prm.udp, start, end, iv->omitted));
    iv->from_ns = to_ns;
    deliver(iv, o);
}

/* Start the accounting of the test D at TEST_START, all its streams made:
 * an interval every PERIOD_MS (0: none), each handed to CB (may be NULL)
 * with ARG. 0 or -ENOMEM. */
int iperf3_interval_start(struct iperf3_intervals *iv, const struct iperf3_streams *d,
                          uint32_t period_ms, iperf3_interval_cb cb, void *arg)
{
    memset(iv, 0, sizeof(*iv));
    if (period_ms == 0)
        return 0;
    iv->m = calloc(d->n ? d->n : 1, sizeof(*iv->m));
    iv->all = cJSON_CreateArray();
    if (!iv->m || !iv->all) {
        iperf3_interval_release(iv);
        return -ENOMEM;
    }
    iv->n = d->n;
    for (unsigned i = 0; i < d->n; i++)
        mark_of(&d->s[i], false, &iv->m[i]);
    iv->period_ns = (uint64_t)period_ms * NS_PER_MS;
    iv->base_ns = iv->from_ns = d->start_ns;
    iv->due_ns = d->start_ns + iv->period_ns;
    iv->omitted = d->omitting;
    iv->cb = cb;
    iv->arg = arg;
    iv->active = true;
    return 0;
}

/* Close, at NOW, the interval that is due, and the one the end of the
 * omit period cut short. */
static void tick_at(struct iperf3_intervals *iv, const struct iperf3_streams *d, uint64_t now)
{
    if (iv->omitted && !d->omitting) {
        emit(iv, d, d->stats_start_ns, true);
        iv->omitted = false;
        iv->base_ns = iv->from_ns = d->stats_start_ns; /* iperf3's clock restarts */
        iv->due_ns = iv->base_ns + iv->period_ns;
    }
    if (now >= iv->due_ns) {
        emit(iv, d, now, false);
        iv->due_ns += iv->period_ns;
        if (iv->due_ns <= now) /* a late tick: no burst of short intervals */
            iv->due_ns = now + iv->period_ns;
    }
}

/* While the test D runs: close the intervals that are due. Returns the ms
 * until the next is due (UINT_MAX: none). */
unsigned iperf3_interval_tick(struct iperf3_intervals *iv, const struct iperf3_streams *d)
{
    uint64_t now = iperf3_priv_now_ns();

    if (!iv->active)
        return UINT_MAX;
    tick_at(iv, d, now);
    return (unsigned)((iv->due_ns - now) / NS_PER_MS + 1);
}

/* At TEST_END (D stopped): the last interval, unless it is shorter than a
 * tenth of the period. No more intervals after this. */
void iperf3_interval_finish(struct iperf3_intervals *iv, const struct iperf3_streams *d)
{
    uint64_t end = d->end_ns ? d->end_ns : iperf3_priv_now_ns();

    if (!iv->active)
        return;
    tick_at(iv, d, end);
    if (end > iv->from_ns && (end - iv->from_ns) * 10 >= iv->period_ns)
        emit(iv, d, end, false);
    iv->active = false;
}

/* The "intervals" array for the report (the caller owns it; an empty
 * array when there were none), or NULL without memory. */
cJSON *iperf3_interval_take(struct iperf3_intervals *iv)
{
    cJSON *all = iv->all ? iv->all : cJSON_CreateArray();

    iv->all = NULL;
    return all;
}

/* Free what the accounting holds (safe on a zeroed IV, and twice). */
void iperf3_interval_release(struct iperf3_intervals *iv)
{
    cJSON_Delete(iv->all);
    free(iv->m);
    memset(iv, 0, sizeof(*iv));
}
