/* SPDX-License-Identifier: MIT */
/* lwipctl's iperf3 output for a person, in iperf3's own format: a line per
 * stream and interval as each interval arrives (the daemon's progress
 * lines), then the sender and receiver summary.
 *
 * Units as iperf3 prints them: transfers in Bytes, KBytes, MBytes, GBytes
 * (base 1024), rates in bits/sec, Kbits/sec, Mbits/sec, Gbits/sec (base
 * 1000), with 3 significant digits. Stream ids are iperf3's (1, 3, 4...),
 * where iperf3 prints its socket numbers. lwIP keeps no per-connection
 * retransmission count, so a TCP sender's interval lines have the Cwnd
 * column and no Retr (iperf3's layout where it has no TCP_INFO); the
 * summary has Retr when the server reported it (it sends, with -R).
 * With --bidir, as iperf3, each line has its role ([TX-C]: lwIP sends,
 * [RX-C]: lwIP receives) and each role its own [SUM]. */
#include "lwipctl_iperf3.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SEPARATOR "- - - - - - - - - - - - - - - - - - - - - - - - -\n"

static struct {
    bool header_done;
    unsigned intervals;
    bool bidir; /* lines carry iperf3's role tag, [TX-C] or [RX-C] */
} show;

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool has(const cJSON *o, const char *key)
{
    return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* V in iperf3's adaptive units into BUF: BITS, a rate (base 1000), else
 * bytes (base 1024). */
static void unit(char *buf, size_t len, double v, bool bits)
{
    static const char *const bytes_u[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
    static const char *const bits_u[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec",
                                         "Tbits/sec"};
    double base = bits ? 1000.0 : 1024.0;
    int u = 0;

    while (u < 4 && v >= base)
        v /= base, u++;
    snprintf(buf, len,
             v < 9.995   ? "%4.2f %s"
             : v < 99.95 ? "%4.1f %s"
                         : "%4.0f %s",
             v, bits ? bits_u[u] : bytes_u[u]);
}

static const char *role_tag(bool sender)
{
    return !show.bidir ? "" : sender ? "[TX-C]" : "[RX-C]";
}

/* "[ID][ROLE] START-END sec TRANSFER BITRATE" of O, no newline; ID < 0:
 * SUM. */
static void print_span(int id, bool sender, const cJSON *o)
{
    char xfer[32], rate[32];

    unit(xfer, sizeof(xfer), num(o, "bytes"), false);
    unit(rate, sizeof(rate), num(o, "bits_per_second"), true);
    if (id < 0)
        printf("[SUM]");
    else
        printf("[%3d]", id);
    printf("%s %6.2f-%-6.2f sec  %s  %s", role_tag(sender), num(o, "start"), num(o, "end"), xfer,
           rate);
}

/* "  JITTER ms  LOST/TOTAL (PCT%)" of a UDP receiver's O. */
static void print_udp_rx(const cJSON *o)
{
    printf("  %5.3f ms  %.0f/%.0f (%.2g%%)", num(o, "jitter_ms"), num(o, "lost_packets"),
           num(o, "packets"), num(o, "lost_percent"));
}

/* One interval line of stream or sum O (ID < 0: a sum). */
static void interval_line(int id, const cJSON *o)
{
    char cwnd[32];

    print_span(id, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "sender")), o);
    if (has(o, "jitter_ms")) {
        print_udp_rx(o);
    } else if (has(o, "packets")) {
        printf("  %.0f", num(o, "packets"));
    } else if (has(o, "snd_cwnd")) {
        unit(cwnd, sizeof(cwnd), num(o, "snd_cwnd"), false);
        printf("  %s", cwnd);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "omitted")))
        printf("  (omitted)");
    putchar('\n');
}

/* "[ ID] Interval           Transfer     Bitrate" and COLUMNS. */
static void header(const char *columns)
{
    printf("[ ID]%s Interval           Transfer     Bitrate%s\n", show.bidir ? "[Role]" : "",
           columns);
}

/* The column header for intervals like stream O's. */
static void interval_header(const cJSON *o)
{
    header(has(o, "jitter_ms")  ? "         Jitter    Lost/Total Datagrams"
           : has(o, "packets")  ? "         Total Datagrams"
           : has(o, "snd_cwnd") ? "         Cwnd"
                                : "");
}

/* INTERVAL's lines for the streams whose "sender" is SENDER (all of
 * them, when not bidir), then their sum SUM_KEY if there are several. */
static void interval_group(const cJSON *iv, bool sender, const char *sum_key)
{
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(iv, "streams"), *s;
    int n = 0;

    cJSON_ArrayForEach(s, streams)
    {
        if (show.bidir && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "sender")) != sender)
            continue;
        interval_line((int)num(s, "socket"), s);
        n++;
    }
    if (n > 1)
        interval_line(-1, cJSON_GetObjectItemCaseSensitive(iv, sum_key));
}

/* A progress line LINE of the daemon's iperf3 command: print the interval
 * it carries, if any, at once. */
void lwipctl_iperf3_progress(const cJSON *line)
{
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(line, "interval");
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(iv, "streams");
    int n = cJSON_GetArraySize(streams);

    if (!cJSON_IsObject(iv) || n == 0)
        return;
    if (!show.header_done) {
        show.bidir = cJSON_GetObjectItemCaseSensitive(iv, "sum_bidir_reverse") != NULL;
        interval_header(streams->child);
        show.header_done = true;
    } else if (n > 1) {
        fputs(SEPARATOR, stdout);
    }
    interval_group(iv, true, "sum");
    if (show.bidir)
        interval_group(iv, false, "sum_bidir_reverse");
    show.intervals++;
    fflush(stdout); /* as it comes, also into a pipe */
}

/* A summary line of O, labelled ROLE; RETR: print O's retransmits. */
static void summary_line(int id, bool sender, const cJSON *o, bool udp, bool retr, const char *role)
{
    print_span(id, sender, o);
    if (udp)
        print_udp_rx(o);
    else if (retr && has(o, "retransmits"))
        printf("  %3.0f             ", num(o, "retransmits"));
    else
        printf("                  ");
    printf("%s%s\n", udp ? "  " : "", role);
}

/* The sender and receiver lines of the sums SND and RCV. */
static void summary_pair(int id, bool sender, const cJSON *snd, const cJSON *rcv, bool udp,
                         bool retr)
{
    summary_line(id, sender, snd, udp, retr, "sender");
    summary_line(id, sender, rcv, udp, retr, "receiver");
}

/* The summary of one direction (SENDER: lwIP sends; all streams when not
 * bidir) of END: TCP, each stream's sender and receiver lines, and the
 * sums' when there are several; UDP, the sums (the daemon's report has
 * one combined object per UDP stream), under the stream's id if alone. */
static void summary_group(const cJSON *end, bool sender, bool udp, bool retr)
{
    const char *const *sums =
        show.bidir && !sender
            ? (const char *const[]){"sum_sent_bidir_reverse", "sum_received_bidir_reverse"}
            : (const char *const[]){"sum_sent", "sum_received"};
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(end, "streams"), *s;
    const cJSON *snd = cJSON_GetObjectItemCaseSensitive(end, sums[0]);
    int n = 0, id = -1;

    if (!snd)
        return;
    cJSON_ArrayForEach(s, streams)
    {
        const cJSON *side = cJSON_GetObjectItemCaseSensitive(s, udp ? "udp" : "sender");

        if (show.bidir && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(side, "sender")) != sender)
            continue;
        n++;
        id = (int)num(s, "id");
        if (!udp)
            summary_pair(id, sender, side, cJSON_GetObjectItemCaseSensitive(s, "receiver"), false,
                         retr);
    }
    if (udp || n > 1)
        summary_pair(n == 1 ? id : -1, sender, snd, cJSON_GetObjectItemCaseSensitive(end, sums[1]),
                     udp, retr);
}

/* The daemon's final answer RESP to iperf3, as iperf3 ends its output. */
void lwipctl_iperf3_render(const cJSON *resp)
{
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(resp, "end");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(resp, "server_output_text");
    bool udp = cJSON_GetObjectItemCaseSensitive(end, "sum") != NULL;
    bool retr = has(cJSON_GetObjectItemCaseSensitive(end, "sum_sent"), "retransmits");

    show.bidir = cJSON_GetObjectItemCaseSensitive(end, "sum_sent_bidir_reverse") != NULL;
    if (show.intervals)
        fputs(SEPARATOR, stdout);
    header(udp ? "         Jitter    Lost/Total Datagrams" : retr ? "         Retr" : "");
    summary_group(end, true, udp, retr);
    if (show.bidir)
        summary_group(end, false, udp, retr);
    if (cJSON_IsString(text))
        printf("\nServer output:\n%s", text->valuestring);
    printf("\niperf Done.\n");
}
