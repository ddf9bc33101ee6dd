/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with 256-byte PBUF_POOL buffers: zoo entry
 * dhcp-reply-spans-pbufs, where a DHCP reply's options must begin in the
 * second pool buffer of its chain (the first holds 256 - 42 header bytes
 * of the 240-byte fixed DHCP part). */
#ifndef ZOO_POOL256_LWIPOPTS_H
#define ZOO_POOL256_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef PBUF_POOL_BUFSIZE
#define PBUF_POOL_BUFSIZE 256

#endif
