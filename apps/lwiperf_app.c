/* SPDX-License-Identifier: MIT */
/* Starts lwIP's lwiperf TCP server (built from the lwIP tree) and keeps its
 * reports for `lwipctl stats`. */
#include "lwipd_config.h"
#include "apps/lwiperf_app.h"

#include <errno.h>

#include "lwip/apps/lwiperf.h"

#include "base/log.h"

static struct lwiperf_app_stats stats = {.last_report_type = -1};

static void report_cb(void *arg, enum lwiperf_report_type type, const ip_addr_t *local_addr,
                      u16_t local_port, const ip_addr_t *remote_addr, u16_t remote_port,
                      u32_t bytes, u32_t ms, u32_t kbit_per_s)
{
    (void)arg;
    (void)local_addr;
    (void)local_port;
    stats.sessions++;
    stats.bytes = bytes;
    stats.ms = ms;
    stats.kbit_per_s = kbit_per_s;
    stats.total_bytes += bytes;
    stats.last_report_type = (int)type;
    log_info("lwiperf", "session from %s:%u: %u bytes in %u ms, %u kbit/s (report type %d)",
             ipaddr_ntoa(remote_addr), remote_port, bytes, ms, kbit_per_s, (int)type);
}

/* Start lwiperf's server on TCP 5001 (tcpip thread). 0, or -ENOMEM (no
 * pcb, or the port is taken: lwiperf does not say which). */
int lwiperf_app_start(void)
{
    return lwiperf_start_tcp_server_default(report_cb, NULL) ? 0 : -ENOMEM;
}

void lwiperf_app_get_stats(struct lwiperf_app_stats *out)
{
    *out = stats;
}
