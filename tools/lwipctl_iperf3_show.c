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
 * summary has Retr when the server reported it (it sends, with -R). */
#include "lwipctl_iperf3.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SEPARATOR "- - - - - - - - - - - - - - - - - - - - - - - - -\n"

static struct {
    bool header_done;
    unsigned intervals;
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

/* "[ID] START-END sec TRANSFER BITRATE" of O, no newline; ID < 0: SUM. */
static void print_span(int id, const cJSON *o)
{
    char xfer[32], rate[32];

    unit(xfer, sizeof(xfer), num(o, "bytes"), false);
    unit(rate, sizeof(rate), num(o, "bits_per_second"), true);
    if (id < 0)
        printf("[SUM]");
    else
        printf("[%3d]", id);
    printf(" %6.2f-%-6.2f sec  %s  %s", num(o, "start"), num(o, "end"), xfer, rate);
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

    print_span(id, o);
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

/* The column header for intervals like stream O's. */
static void interval_header(const cJSON *o)
{
    printf("[ ID] Interval           Transfer     Bitrate%s\n",
           has(o, "jitter_ms")  ? "         Jitter    Lost/Total Datagrams"
           : has(o, "packets")  ? "         Total Datagrams"
           : has(o, "snd_cwnd") ? "         Cwnd"
                                : "");
}

/* A progress line LINE of the daemon's iperf3 command: print the interval
 * it carries, if any, at once. */
void lwipctl_iperf3_progress(const cJSON *line)
{
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(line, "interval");
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(iv, "streams");
    const cJSON *s;
    int n = cJSON_GetArraySize(streams);

    if (!cJSON_IsObject(iv) || n == 0)
        return;
    if (!show.header_done) {
        interval_header(streams->child);
        show.header_done = true;
    } else if (n > 1) {
        fputs(SEPARATOR, stdout);
    }
    cJSON_ArrayForEach(s, streams) interval_line((int)num(s, "socket"), s);
    if (n > 1) {
        interval_line(-1, cJSON_GetObjectItemCaseSensitive(iv, "sum"));
        if (cJSON_GetObjectItemCaseSensitive(iv, "sum_bidir_reverse"))
            interval_line(-1, cJSON_GetObjectItemCaseSensitive(iv, "sum_bidir_reverse"));
    }
    show.intervals++;
    fflush(stdout); /* as it comes, also into a pipe */
}

/* A summary line of O, labelled ROLE; RETR: print O's retransmits. */
static void summary_line(int id, const cJSON *o, bool udp, bool retr, const char *role)
{
    print_span(id, o);
    if (udp)
        print_udp_rx(o);
    else if (retr && has(o, "retransmits"))
        printf("  %3.0f             ", num(o, "retransmits"));
    else
        printf("                  ");
    printf("%s%s\n", udp ? "  " : "", role);
}

/* The summary of TCP streams: each stream's sender and receiver lines,
 * and the sums' when there are several. */
static void summary_tcp(const cJSON *end, bool retr)
{
    static const char *const sums[][2] = {{"sum_sent", "sum_received"},
                                          {"sum_sent_bidir_reverse", "sum_received_bidir_reverse"}};
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(end, "streams"), *s;

    cJSON_ArrayForEach(s, streams)
    {
        int id = (int)num(s, "id");

        summary_line(id, cJSON_GetObjectItemCaseSensitive(s, "sender"), false, retr, "sender");
        summary_line(id, cJSON_GetObjectItemCaseSensitive(s, "receiver"), false, retr, "receiver");
    }
    if (cJSON_GetArraySize(streams) < 2)
        return;
    for (size_t k = 0; k < 2; k++) {
        const cJSON *snd = cJSON_GetObjectItemCaseSensitive(end, sums[k][0]);

        if (!snd)
            continue;
        summary_line(-1, snd, false, retr, "sender");
        summary_line(-1, cJSON_GetObjectItemCaseSensitive(end, sums[k][1]), false, retr,
                     "receiver");
    }
}

/* The summary of UDP streams, from the sums (the daemon's report has one
 * combined object per UDP stream). */
static void summary_udp(const cJSON *end)
{
    static const char *const sums[][2] = {{"sum_sent", "sum_received"},
                                          {"sum_sent_bidir_reverse", "sum_received_bidir_reverse"}};
    const cJSON *streams = cJSON_GetObjectItemCaseSensitive(end, "streams");
    int id = cJSON_GetArraySize(streams) == 1 ? (int)num(streams->child, "id") : -1;

    for (size_t k = 0; k < 2; k++) {
        const cJSON *snd = cJSON_GetObjectItemCaseSensitive(end, sums[k][0]);

        if (!snd)
            continue;
        summary_line(id, snd, true, false, "sender");
        summary_line(id, cJSON_GetObjectItemCaseSensitive(end, sums[k][1]), true, false,
                     "receiver");
    }
}

/* The daemon's final answer RESP to iperf3, as iperf3 ends its output. */
void lwipctl_iperf3_render(const cJSON *resp)
{
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(resp, "end");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(resp, "server_output_text");
    bool udp = cJSON_GetObjectItemCaseSensitive(end, "sum") != NULL;
    bool retr = has(cJSON_GetObjectItemCaseSensitive(end, "sum_sent"), "retransmits");

    if (show.intervals)
        fputs(SEPARATOR, stdout);
    if (udp)
        printf("[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total "
               "Datagrams\n");
    else
        printf("[ ID] Interval           Transfer     Bitrate%s\n", retr ? "         Retr" : "");
    if (udp)
        summary_udp(end);
    else
        summary_tcp(end, retr);
    if (cJSON_IsString(text))
        printf("\nServer output:\n%s", text->valuestring);
    printf("\niperf Done.\n");
}
