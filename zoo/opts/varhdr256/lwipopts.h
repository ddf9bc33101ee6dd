/* SPDX-License-Identifier: MIT */
/* lwipd's default profile with a 256-byte MQTT receive buffer: zoo entry
 * mqtt-fixed-header-overflow's mitigation. The client's fixed-header
 * counter is a u8_t, so a header never gets past rx_buffer[255]: with
 * MQTT_VAR_HEADER_BUFFER_LEN 256, MQTT_VAR_HEADER_BUFFER_LEN - header
 * length cannot wrap and every copy stays inside rx_buffer. */
#ifndef ZOO_VARHDR256_LWIPOPTS_H
#define ZOO_VARHDR256_LWIPOPTS_H

#include "../../../port/opts/default/lwipopts.h"

#undef MQTT_VAR_HEADER_BUFFER_LEN
#define MQTT_VAR_HEADER_BUFFER_LEN 256

#endif
