/* SPDX-License-Identifier: MIT */
/* lwIP's own lwiperf (iperf2, TCP 5001) as a reference server. */
#pragma once

#include <stdint.h>

struct lwiperf_app_stats {
    uint64_t sessions;    /* reports received */
    uint64_t bytes;       /* bytes of the last session */
    uint32_t ms;          /* duration of the last session */
    uint32_t kbit_per_s;  /* lwiperf's own figure for the last session */
    uint64_t total_bytes; /* all sessions */
    int last_report_type; /* enum lwiperf_report_type, -1 before any */
};

int lwiperf_app_start(void);
void lwiperf_app_get_stats(struct lwiperf_app_stats *out);
