/* SPDX-License-Identifier: MIT */
/* lwIP version differences that lwipd's code must bridge (2.0.x .. 2.2.x),
 * written as checks on LWIP_VERSION: lwIP itself is never patched. */
#pragma once

#include "lwip/init.h"

#define LWIPD_LWIP_AT_LEAST(maj, min)                                                              \
    ((LWIP_VERSION_MAJOR * 100 + LWIP_VERSION_MINOR) >= ((maj)*100 + (min)))
