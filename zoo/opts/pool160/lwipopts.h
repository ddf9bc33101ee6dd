/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with 160-byte PBUF_POOL buffers: zoo entry
 * mqtt-fixed-header-overflow, where on 2.2.x the MQTT client's copy into
 * its rx_buffer happens only when a message's fixed header runs past the
 * first pool buffer of a chain (160 - 54 header bytes = 106 TCP payload
 * bytes in it). */
#ifndef ZOO_POOL160_LWIPOPTS_H
#define ZOO_POOL160_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef PBUF_POOL_BUFSIZE
#define PBUF_POOL_BUFSIZE 160

#endif
