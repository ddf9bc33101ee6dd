/* SPDX-License-Identifier: MIT */
/* lwipd's default profile without SACK output (LWIP_TCP_SACK_OUT 0): the
 * single-variable control of zoo entry tcp-wedge-2.0.3-loss (lwIP 2.0.x has
 * no SACK output at all; 2.1.0 added it). */
#ifndef ZOO_NOSACK_LWIPOPTS_H
#define ZOO_NOSACK_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef LWIP_TCP_SACK_OUT
#define LWIP_TCP_SACK_OUT 0

#endif
