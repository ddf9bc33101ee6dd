/* SPDX-License-Identifier: MIT */
/* The iperf3 client inside lwIP, against a stock iperf3 server: one run at
 * a time (raw API, under lwIP's core lock). */
#pragma once

#include <stdint.h>

#include "apps/iperf3/iperf3_interval.h"
#include "apps/iperf3/iperf3_params.h"

struct cJSON;
struct iperf3_stats;

/* What the lwIP client runs. PRM as a stock client would send it; when
 * PRM.len is 0 the client picks iperf3's default (TCP 128 KiB, UDP the
 * control connection's MSS). An interval report every INTERVAL_MS (0:
 * none), each passed to INTERVAL_CB (may be NULL) with the done
 * callback's ARG as it completes. */
struct iperf3_client_opts {
    uint32_t addr; /* network byte order */
    uint16_t port;
    struct iperf3_params prm;
    uint32_t interval_ms;
    iperf3_interval_cb interval_cb;
};

/* Called once, under lwIP's core lock (the tcpip thread, or the driver's
 * RX thread with LWIP_TCPIP_CORE_LOCKING_INPUT), when the client run is
 * over: RESULT (owned by the callee) on success, else ERROR. */
typedef void (*iperf3_client_done_cb)(void *arg, struct cJSON *result, const char *error);

int iperf3_client_start(const struct iperf3_client_opts *o, iperf3_client_done_cb done, void *arg);
void iperf3_client_stats(struct iperf3_stats *out);
