/* SPDX-License-Identifier: MIT */
/* lwipctl's iperf3 command: iperf3's own options into a control request
 * (lwipctl_iperf3.c), the results in iperf3's format (lwipctl_iperf3_show.c). */
#pragma once

#include <cjson/cJSON.h>

cJSON *lwipctl_iperf3_request(int argc, char **argv, double *wait_s);
void lwipctl_iperf3_human(cJSON *req);
void lwipctl_iperf3_progress(const cJSON *line);
void lwipctl_iperf3_render(const cJSON *resp);
