/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with lwIP's DNS client on, room for 4 DNS servers
 * and DHCP told to take at most 1 of them: zoo entry
 * dhcp-dns-servers-overflow, where lwIP <= 2.2.0 limits the DHCP option by
 * DNS_MAX_SERVERS instead of LWIP_DHCP_MAX_DNS_SERVERS. */
#ifndef ZOO_DNS4_LWIPOPTS_H
#define ZOO_DNS4_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef LWIP_DNS
#define LWIP_DNS                  1
#define DNS_MAX_SERVERS           4
#define LWIP_DHCP_MAX_DNS_SERVERS 1

#endif
