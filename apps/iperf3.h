/* SPDX-License-Identifier: MIT */
/* iperf3 inside lwIP: a server stock iperf3 clients can test against, and a
 * client that tests a stock iperf3 server (raw API, under lwIP's core lock). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apps/iperf3_proto.h"

struct cJSON;

struct iperf3_server_config {
    uint16_t port; /* TCP and UDP; 0: IPERF3_PORT */
};

/* Counters for `lwipctl stats` (apps.iperf3). Written under lwIP's core
 * lock, read racily by the control thread, like every app counter. */
struct iperf3_stats {
    bool server_enabled;
    uint16_t port;
    const char *state; /* the server's: idle, params, create_streams, running, ... */
    unsigned pending;  /* connections whose cookie is not complete yet */
    uint64_t tests_started;
    uint64_t tests_completed;
    uint64_t refused;  /* ACCESS_DENIED: busy, or a foreign cookie */
    uint64_t errors;   /* SERVER_ERROR sent */
    uint64_t aborted;  /* the client vanished or terminated mid-test */
    uint64_t timeouts; /* stalled connections dropped */
    uint64_t bytes_received;
    uint64_t bytes_sent;
    bool client_running;
    uint64_t client_runs;
    uint64_t client_errors;
};

/* What the lwIP client runs. PRM as a stock client would send it; when
 * PRM.len is 0 the client picks iperf3's default (TCP 128 KiB, UDP the
 * control connection's MSS). */
struct iperf3_client_opts {
    uint32_t addr; /* network byte order */
    uint16_t port;
    struct iperf3_params prm;
};

/* Called once, under lwIP's core lock (the tcpip thread, or the driver's
 * RX thread with LWIP_TCPIP_CORE_LOCKING_INPUT), when the client run is
 * over: RESULT (owned by the callee) on success, else ERROR. */
typedef void (*iperf3_client_done_cb)(void *arg, struct cJSON *result, const char *error);

int iperf3_server_start(const struct iperf3_server_config *cfg);
void iperf3_get_stats(struct iperf3_stats *out);

int iperf3_client_start(const struct iperf3_client_opts *o, iperf3_client_done_cb done, void *arg);
