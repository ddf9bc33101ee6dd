/* SPDX-License-Identifier: MIT */
/* RFC 862 echo, RFC 863 discard, RFC 864 chargen over TCP and UDP, on lwIP's
 * raw API (they run inside the tcpip thread). */
#pragma once

#include <stdint.h>

enum echo_service {
    ECHO_SVC_ECHO,
    ECHO_SVC_DISCARD,
    ECHO_SVC_CHARGEN,
    ECHO_SVC_COUNT,
};

struct echo_svc_stats {
    uint64_t tcp_accepted;
    uint64_t tcp_active;
    uint64_t tcp_bytes_in;
    uint64_t tcp_bytes_out;
    uint64_t udp_datagrams_in;
    uint64_t udp_datagrams_out;
    uint64_t errors;
    uint64_t tcp_idle_closed; /* connections closed by the idle timeout */
};

const char *echo_service_name(enum echo_service s);
int echo_start(unsigned idle_s);
void echo_get_stats(enum echo_service s, struct echo_svc_stats *out);
