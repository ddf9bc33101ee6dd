/* SPDX-License-Identifier: MIT */
/* The iperf3 counters `lwipctl stats` shows (apps.iperf3). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Counters for `lwipctl stats` (apps.iperf3): the server's part from
 * iperf3_server_stats(), the client's from iperf3_client_stats(). Written
 * under lwIP's core lock, read racily by the control thread, like every
 * app counter. */
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
