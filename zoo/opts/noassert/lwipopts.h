/* SPDX-License-Identifier: MIT */
/* lwipd's default profile built with LWIP_NOASSERT: the firmware-side
 * mitigation of the accept mailbox overflow (zoo entry accept-mbox-overflow).
 * Every LWIP_ASSERT compiles to nothing; lwipd's other detectors (leak
 * report, socket probe, crash handler for signals) stay. */
#ifndef ZOO_NOASSERT_LWIPOPTS_H
#define ZOO_NOASSERT_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#define LWIP_NOASSERT 1

#endif
