/* SPDX-License-Identifier: MIT */
/* lwipd's default profile without lwIP's out-of-order queue: zoo entry
 * tcp-ooseq-first-overruns-window, whose mitigation this is (out-of-order
 * segments are dropped, the peer retransmits them). */
#ifndef ZOO_NOOOSEQ_LWIPOPTS_H
#define ZOO_NOOOSEQ_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef TCP_QUEUE_OOSEQ
#define TCP_QUEUE_OOSEQ 0
#undef LWIP_TCP_SACK_OUT
#define LWIP_TCP_SACK_OUT 0

#endif
