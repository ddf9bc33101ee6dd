/* SPDX-License-Identifier: MIT */
/* The few lwIP options lwipd cannot live without, checked at compile time
 * against whatever lwipopts.h the build uses (-Dlwipopts_dir). */
#pragma once

#include "lwip/opt.h"

#if NO_SYS
#error "lwipd needs NO_SYS=0 in lwipopts.h: it runs lwIP's tcpip thread, netconn and sockets."
#endif
#if !SYS_LIGHTWEIGHT_PROT
#error "lwipd needs SYS_LIGHTWEIGHT_PROT=1: its emulated ISRs free pbufs into lwIP's pools."
#endif
#if !LWIP_STATS || !MEM_STATS || !MEMP_STATS
#error                                                                                             \
    "lwipd reports lwIP's statistics and leak baselines: set LWIP_STATS, MEM_STATS and MEMP_STATS to 1."
#endif
#if !LWIP_ETHERNET || !LWIP_ARP
#error "lwipd drives an Ethernet TAP: set LWIP_ETHERNET=1 and LWIP_ARP=1."
#endif
#if LWIP_COMPAT_SOCKETS
#error "set LWIP_COMPAT_SOCKETS=0: lwIP's socket() and friends would clash with the host's."
#endif
