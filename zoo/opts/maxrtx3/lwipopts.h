/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with TCP_MAXRTX 3: zoo entry
 * tcp-zero-window-forever, where lwIP 2.1's zero-window probe limit
 * (TCP_MAXRTX probes) must run out within seconds, not the minutes the
 * default of 12 takes with the persist backoff. */
#ifndef ZOO_MAXRTX3_LWIPOPTS_H
#define ZOO_MAXRTX3_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef TCP_MAXRTX
#define TCP_MAXRTX 3

#endif
