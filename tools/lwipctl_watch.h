/* SPDX-License-Identifier: MIT */
/* lwipctl's commands that watch lwipd over time: stats --interval, events
 * [--follow]. */
#pragma once

#include <stdbool.h>

int lwipctl_watch(int argc, char **argv, const char *sock, bool json, double timeout);
