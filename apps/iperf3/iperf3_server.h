/* SPDX-License-Identifier: MIT */
/* The iperf3 server inside lwIP, for stock iperf3 clients: one test at a
 * time, TCP and UDP on one port (raw API, under lwIP's core lock). */
#pragma once

#include <stdint.h>

struct iperf3_stats;

struct iperf3_server_config {
    uint16_t port; /* TCP and UDP; 0: IPERF3_PORT */
};

int iperf3_server_start(const struct iperf3_server_config *cfg);
void iperf3_server_stats(struct iperf3_stats *out);
