/* SPDX-License-Identifier: MIT */
/* ICMP echo from inside lwIP (raw API): lwIP pings the host. */
#pragma once

#include <stdint.h>

struct lwping_result {
    uint32_t transmitted;
    uint32_t received;
    uint32_t duplicates;
    double rtt_min_ms, rtt_avg_ms, rtt_max_ms;
};

/* Called once, in the tcpip thread, when the run is over. */
typedef void (*lwping_done_cb)(void *arg, const struct lwping_result *res);

struct lwping_params {
    uint32_t addr; /* network byte order */
    uint32_t count;
    uint32_t interval_ms;
    uint32_t timeout_ms;
};

int lwping_start(const struct lwping_params *p, lwping_done_cb done, void *arg);
int lwping_running(void);
uint64_t lwping_runs(void);
