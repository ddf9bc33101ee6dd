/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with TCP_TMR_INTERVAL 10 (slow timer 20 ms): lwIP's retransmission
 * timeout, counted in slow-timer ticks, shrinks 25-fold (zoo entry tcp-sender-loss-rto-stalls). */
#ifndef ZOO_TMR10_LWIPOPTS_H
#define ZOO_TMR10_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef TCP_TMR_INTERVAL
#define TCP_TMR_INTERVAL 10

#endif
