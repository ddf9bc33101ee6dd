/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with lwIP 2.2's DHCP address conflict detection
 * off: zoo entry dhcp-acd-bind-delay (2.1 and older have no such option
 * and ignore it). */
#ifndef ZOO_NOACD_LWIPOPTS_H
#define ZOO_NOACD_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#define LWIP_DHCP_DOES_ACD_CHECK 0

#endif
