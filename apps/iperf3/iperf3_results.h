/* SPDX-License-Identifier: MIT */
/* The iperf3 results JSON both ends send after EXCHANGE_RESULTS: a
 * formatter and a parser for untrusted input. Pure functions (cJSON only). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "apps/iperf3/iperf3_proto.h"

/* One stream in the results JSON. */
struct iperf3_results_stream {
    uint32_t id;
    uint64_t bytes;
    int64_t retransmits; /* -1: unknown */
    double jitter;       /* seconds */
    int64_t errors;
    int64_t packets;
    double start_time, end_time; /* seconds; end_time < 0: absent */
};

/* The results JSON, as sent by both ends after EXCHANGE_RESULTS. */
struct iperf3_results {
    double cpu_total, cpu_user, cpu_system;
    int sender_has_retransmits; /* -1: only receives; 0 or 1 when it sends */
    char *server_output_text;   /* optional (malloc'd when parsed) */
    unsigned nstreams;
    struct iperf3_results_stream *streams; /* malloc'd when parsed */
};

char *iperf3_results_format(const struct iperf3_results *r);
int iperf3_results_parse(const char *json, size_t len, struct iperf3_results *out, char *err,
                         size_t errlen);
void iperf3_results_free(struct iperf3_results *r);
