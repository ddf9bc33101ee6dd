/* SPDX-License-Identifier: MIT */
/* lwipctl's iperf3 command: iperf3's own options into a control request. */
#pragma once

#include <cjson/cJSON.h>

cJSON *lwipctl_iperf3_request(int argc, char **argv, double *wait_s);
