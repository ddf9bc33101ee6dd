/* SPDX-License-Identifier: MIT */
/* The glue of each lwIP app, one file per app, compiled only when the app
 * is built in (apps/meson.build). Every start function runs in the tcpip
 * thread and returns 0 or -errno after logging why; every *_json adds the
 * app's counters to O (read racily from the control thread, as the other
 * apps' counters are). */
#pragma once

#include <stdint.h>

#include "apps/lwip_apps/lwip_apps.h"

struct netif;
struct cJSON;

int httpd_app_start(void);
void httpd_app_json(struct cJSON *o);

int sntp_app_start(struct netif *netif, uint32_t server);
void sntp_app_json(struct cJSON *o);

int mdns_app_start(struct netif *netif, const char *name);
void mdns_app_json(struct cJSON *o);

int tftp_app_start(const char *dir);
void tftp_app_json(struct cJSON *o);

int mqtt_app_start(struct netif *netif, const struct lwip_apps_mqtt *cfg);
void mqtt_app_json(struct cJSON *o);
