/* SPDX-License-Identifier: MIT */
/* The iperf3 parameter JSON (what a client asks for, sent after
 * PARAM_EXCHANGE): defaults, a parser for untrusted input, a formatter
 * with 3.12's keys, and the datagram sizes this lwIP build carries. Pure
 * functions (cJSON and lwIP's build constants only). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/iperf3/iperf3_proto.h"

/* What a test asks for (the client's parameter JSON). */
struct iperf3_params {
    bool udp; /* else TCP */
    bool reverse;
    bool bidir;
    bool nodelay;
    bool get_server_output;
    bool udp_counters_64bit;
    bool repeating_payload;
    uint32_t omit;       /* seconds left out of the statistics */
    uint32_t time;       /* seconds; 0 when -n or -k ends the test */
    uint64_t num;        /* -n bytes */
    uint64_t blockcount; /* -k blocks */
    uint32_t parallel;   /* streams per direction, 1..128 */
    uint32_t len;        /* TCP write size / UDP datagram size */
    uint64_t bandwidth;  /* bit/s per stream, 0: unlimited */
    uint32_t burst;
    uint32_t pacing_timer; /* us */
    uint32_t window;
    uint32_t mss;
    uint32_t tos;
    char client_version[16];
    int ierr; /* after a failed parse: the iperf3 error code to send back */
};

/* The lwIP option that bounds a figure, and its value in this build. */
struct iperf3_params_limit {
    const char *option;
    long value;
};

void iperf3_params_defaults(struct iperf3_params *p);
int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *out, char *err,
                        size_t errlen);
char *iperf3_params_format(const struct iperf3_params *p);
unsigned iperf3_params_streams(const struct iperf3_params *p);
bool iperf3_params_server_sends(const struct iperf3_params *p, unsigned index);
uint32_t iperf3_params_udp_max_len(bool sends, unsigned mtu, struct iperf3_params_limit *limit);
unsigned iperf3_params_udp_frag_refs(uint32_t len, unsigned mtu);
int iperf3_params_check_udp_len(struct iperf3_params *p, unsigned mtu, char *err, size_t errlen);
