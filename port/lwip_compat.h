/* SPDX-License-Identifier: MIT */
/* lwIP version differences that lwipd's code must bridge (2.0.x .. 2.2.x),
 * written as checks on LWIP_VERSION: lwIP itself is never patched. */
#pragma once

#include "lwip/init.h"

#define LWIPD_LWIP_AT_LEAST(maj, min)                                                              \
    ((LWIP_VERSION_MAJOR * 100 + LWIP_VERSION_MINOR) >= ((maj)*100 + (min)))

/* Post a pre-allocated callback message without blocking (ERR_MEM when the
 * tcpip mailbox is full): renamed in 2.1. Needs lwip/tcpip.h. */
#if LWIPD_LWIP_AT_LEAST(2, 1)
#define lwipd_callbackmsg_trypost(msg) tcpip_callbackmsg_trycallback(msg)
#else
#define lwipd_callbackmsg_trypost(msg) tcpip_trycallback(msg)
#endif
