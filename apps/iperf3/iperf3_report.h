/* SPDX-License-Identifier: MIT */
/* What an iperf3 test reports: CPU use, our results JSON for the peer, and
 * the lwIP client's report in the shape of iperf3 -J. Runs under lwIP's
 * core lock, like the streams it reads. */
#pragma once

#include <stdint.h>

#include "apps/iperf3/iperf3_results.h"
#include "apps/iperf3/iperf3_stream.h"

struct cJSON;

/* CPU time of the whole process (all of lwipd's threads) and the wall
 * clock, to report cpu_util_* for a test. */
struct iperf3_report_cpu {
    uint64_t wall_ns, user_us, sys_us;
};

void iperf3_report_cpu_mark(struct iperf3_report_cpu *m);
void iperf3_report_cpu_util(const struct iperf3_report_cpu *a, const struct iperf3_report_cpu *b,
                            double *total, double *user, double *sys);
char *iperf3_report_results(const struct iperf3_streams *d, const struct iperf3_report_cpu *c0,
                            const struct iperf3_report_cpu *c1, char *server_output);
struct cJSON *iperf3_report_json(const struct iperf3_streams *d, const struct iperf3_results *peer,
                                 const struct iperf3_report_cpu *c0,
                                 const struct iperf3_report_cpu *c1, struct cJSON *intervals);
