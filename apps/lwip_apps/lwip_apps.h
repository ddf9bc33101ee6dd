/* SPDX-License-Identifier: MIT */
/* lwIP's own apps (src/apps of the tree under test, -Dlwip_apps): their
 * configuration from lwipd's switches, starting them in the tcpip thread,
 * and their counters for `lwipctl stats`. An app not built in is refused
 * at option time by lwip_apps_check_built(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netif;
struct cJSON;

#define LWIP_APPS_NAME_MAX  63  /* --mdns NAME: one DNS label */
#define LWIP_APPS_TOPIC_MAX 127 /* --mqtt-pub's TOPIC */

struct lwip_apps_mqtt {
    uint32_t broker; /* network byte order; 0: off */
    uint16_t port;
    char topic[LWIP_APPS_TOPIC_MAX + 1];
    unsigned interval_ms;
};

struct lwip_apps_config {
    bool httpd;                 /* --httpd: lwIP's httpd on TCP 80 */
    uint32_t sntp_server;       /* --sntp, network byte order; 0: off */
    const char *mdns_name;      /* --mdns NAME; NULL: off */
    const char *tftp_dir;       /* --tftp-server DIR; NULL: off */
    struct lwip_apps_mqtt mqtt; /* --mqtt-pub */
};

int lwip_apps_parse_mqtt(const char *spec, struct lwip_apps_mqtt *out, char *err, size_t errlen);
int lwip_apps_parse_mdns_name(const char *name, char *err, size_t errlen);
int lwip_apps_check_built(const struct lwip_apps_config *cfg, char *err, size_t errlen);
int lwip_apps_start(const struct lwip_apps_config *cfg, struct netif *netif);
struct cJSON *lwip_apps_json(void);
