/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with LWIP_NETIF_LOOPBACK 1: zoo entry
 * loop-poll-callback-lost, where a datagram lwIP sends to its own address
 * goes through netif_loop_output(), which schedules netif_poll() with
 * tcpip_try_callback() (LWIP_NETIF_LOOPBACK_MULTITHREADING, on with
 * NO_SYS 0). */
#ifndef ZOO_LOOPBACK_LWIPOPTS_H
#define ZOO_LOOPBACK_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef LWIP_NETIF_LOOPBACK
#define LWIP_NETIF_LOOPBACK 1

#endif
