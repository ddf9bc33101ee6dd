/* SPDX-License-Identifier: MIT */
/* iperf3 inside lwIP, what the rest of lwipd uses: a server stock iperf3
 * clients can test against (iperf3_server.h), a client that tests a stock
 * iperf3 server (iperf3_client.h), the parameters a client run takes
 * (iperf3_params.h) and the counters `lwipctl stats` shows. */
#pragma once

#include "apps/iperf3/iperf3_client.h"
#include "apps/iperf3/iperf3_params.h"
#include "apps/iperf3/iperf3_server.h"
#include "apps/iperf3/iperf3_stats.h"
