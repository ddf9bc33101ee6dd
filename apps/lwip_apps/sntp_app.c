/* SPDX-License-Identifier: MIT */
/* lwIP's SNTP client in unicast mode against --sntp's server.
 *
 * lwIP hands each time it accepts to SNTP_SET_SYSTEM_TIME, which
 * port/opts/apps.h points at lwipd_sntp_set_time() here: the device's
 * clock in firmware, a counter and the last value in lwipd (the host's
 * clock is not lwipd's to set). lwIP asks again every SNTP_UPDATE_DELAY.
 *
 * lwIP's client sends its first request from sntp_init(); without a link
 * that request has no route, and lwIP only tries again after its receive
 * and retry timeouts (6 s). So, as firmware does, the client starts once
 * the link is up: LINK_POLL_MS polls until then. */
#include "lwipd_config.h"

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lwip/opt.h" /* lwipopts.h, before sntp_opts.h gives its defaults */
#ifndef SNTP_SET_SYSTEM_TIME
#error "the sntp glue needs SNTP_SET_SYSTEM_TIME (port/opts/apps.h)"
#endif
#include "lwip/apps/sntp.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

#define LINK_POLL_MS 20

/* Written in the tcpip thread; read racily by the control thread. */
static struct {
    struct netif *netif;
    int started;
    ip_addr_t server;
    char server_text[IP4ADDR_STRLEN_MAX];
    uint64_t updates;
    unsigned long last_time; /* seconds since 1970 lwIP got last */
    struct timespec last_at; /* CLOCK_MONOTONIC when it got it */
} sntp;

/* lwIP's SNTP_SET_SYSTEM_TIME, in the tcpip thread: SEC is the server's
 * time in seconds since 1970. */
void lwipd_sntp_set_time(unsigned long sec)
{
    sntp.last_time = sec;
    sntp.updates++;
    clock_gettime(CLOCK_MONOTONIC, &sntp.last_at);
    log_info("sntp", "time from %s: %lu (update %llu)", sntp.server_text, sec,
             (unsigned long long)sntp.updates);
}

/* Start lwIP's client once the link is up (tcpip thread timer). */
static void start_when_linked(void *arg)
{
    (void)arg;
    if (!netif_is_link_up(sntp.netif)) {
        sys_timeout(LINK_POLL_MS, start_when_linked, NULL);
        return;
    }
    sntp_setoperatingmode(SNTP_OPMODE_POLL);
    sntp_setserver(0, &sntp.server);
    sntp_init();
    sntp.started = 1;
    log_info("sntp", "lwIP SNTP client polling %s every %d ms", sntp.server_text,
             SNTP_UPDATE_DELAY);
}

/* Start lwIP's SNTP client polling SERVER (network byte order) on UDP 123
 * from NETIF, once its link is up (tcpip thread). 0 always: lwIP reports
 * nothing. */
int sntp_app_start(struct netif *netif, uint32_t server)
{
    sntp.netif = netif;
    ip_addr_set_ip4_u32(&sntp.server, server);
    ip4addr_ntoa_r(ip_2_ip4(&sntp.server), sntp.server_text, sizeof(sntp.server_text));
    start_when_linked(NULL);
    return 0;
}

void sntp_app_json(cJSON *o)
{
    struct timespec now;

    cJSON_AddBoolToObject(o, "running", sntp.started);
    cJSON_AddStringToObject(o, "server", sntp.server_text);
    cJSON_AddNumberToObject(o, "updates", (double)sntp.updates);
    cJSON_AddNumberToObject(o, "time", (double)sntp.last_time);
    if (sntp.updates) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        cJSON_AddNumberToObject(o, "age_ms",
                                (double)(now.tv_sec - sntp.last_at.tv_sec) * 1000.0 +
                                    (double)(now.tv_nsec - sntp.last_at.tv_nsec) / 1e6);
    }
}
