/* SPDX-License-Identifier: MIT */
/* lwipctl wait: block until lwipd is ready, its link is up, or it is quiet. */
#pragma once

#include "lwipctl_report.h"

int lwipctl_wait(int argc, char **argv, const char *sock, double timeout, lwipctl_ask_fn ask);
