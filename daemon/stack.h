/* SPDX-License-Identifier: MIT */
/* Bringing lwIP up on the TAP, and running work inside its tcpip thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/churn.h"
#include "apps/lwip_apps/lwip_apps.h"

struct netif;
struct netif_tap;

struct stack_config {
    uint32_t ip, mask, gw; /* network byte order */
    bool dhcp;
    bool echo;
    unsigned echo_idle_s; /* echo/discard/chargen TCP idle timeout; 0: none */
    bool lwiperf;
    bool churn; /* start the churn server (sockets API) with churn_cfg */
    struct churn_config churn_cfg;
    bool iperf3;
    uint16_t iperf3_port;
    const uint32_t *igmp_join; /* groups to join once up (network byte order) */
    unsigned nigmp_join;
    struct lwip_apps_config lwip_apps; /* lwIP's own apps to start */
    /* Called from stack_start()'s thread once the netif is added and up,
     * before the driver's threads start (the apps start here, so that
     * --irq-target can name their threads). 0, or -errno to fail the start. */
    int (*on_netif_up)(struct netif *netif, void *arg);
    void *on_netif_up_arg;
};

/* Work to run in the tcpip thread. ARG points to the call's private copy of
 * the caller's argument block; results are written back into it. */
typedef int (*stack_fn)(void *arg);

int stack_start(struct netif_tap *tap, const struct stack_config *cfg);
int stack_call(stack_fn fn, void *arg, size_t size, unsigned timeout_ms);
int stack_set_link(bool up, unsigned timeout_ms);
int stack_set_link_when_tx_busy(unsigned timeout_ms);
uint64_t stack_heartbeat(void);
