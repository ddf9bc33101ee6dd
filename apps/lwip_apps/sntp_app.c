/* SPDX-License-Identifier: MIT */
/* lwIP's SNTP client in unicast mode against --sntp's server.
 *
 * lwIP hands each time it accepts to SNTP_SET_SYSTEM_TIME, which
 * port/opts/apps.h points at lwipd_sntp_set_time() here: the device's
 * clock in firmware, a counter and the last value in lwipd (the host's
 * clock is not lwipd's to set). lwIP asks again every SNTP_UPDATE_DELAY. */
#include "lwipd_config.h"

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lwip/apps/sntp.h"
#include "lwip/ip_addr.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

/* Written in the tcpip thread; read racily by the control thread. */
static struct {
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

/* Start lwIP's SNTP client polling SERVER (network byte order) on UDP 123
 * (tcpip thread). 0 always: lwIP reports nothing. */
int sntp_app_start(uint32_t server)
{
    ip_addr_set_ip4_u32(&sntp.server, server);
    ip4addr_ntoa_r(ip_2_ip4(&sntp.server), sntp.server_text, sizeof(sntp.server_text));
    sntp_setoperatingmode(SNTP_OPMODE_POLL);
    sntp_setserver(0, &sntp.server);
    sntp_init();
    sntp.started = 1;
    log_info("sntp", "lwIP SNTP client polling %s every %d ms", sntp.server_text,
             SNTP_UPDATE_DELAY);
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
