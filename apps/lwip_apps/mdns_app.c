/* SPDX-License-Identifier: MIT */
/* lwIP's mDNS responder: NAME.local with the netif's address, and one
 * service record, _lwipd._tcp on the echo port (7), with the lwIP version
 * lwipd's version in its TXT record.
 *
 * The responder's API changed twice: 2.0/2.1 take a TTL per name and
 * service, 2.2 does not; 2.1 added the probe result callback and 2.2 gave
 * it the slot. LWIPD_LWIP_VERSION_MM (meson) picks the call. */
#include "lwipd_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lwip/apps/mdns.h"
#include "lwip/init.h"
#include "lwip/netif.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

#if !LWIP_MDNS_RESPONDER
#error "the mdns glue needs LWIP_MDNS_RESPONDER 1 (port/opts/apps.h)"
#endif

#define MDNS_APP_TTL     120 /* 2.0/2.1: seconds the answers may be cached */
#define MDNS_APP_SERVICE "_lwipd"
#define MDNS_APP_PORT    7

/* Written in the tcpip thread; read racily by the control thread. */
static struct {
    int started;
    char name[LWIP_APPS_NAME_MAX + 1];
    const char *probe; /* "none" (2.0 does not probe), "pending", "ok", "conflict" */
} mdns = {.probe = "none"};

/* lwIP asks for the service's TXT items when it builds an answer. */
static void txt_cb(struct mdns_service *service, void *arg)
{
    static const char txt[] = "lwipd=" LWIPD_VERSION;

    (void)arg;
    if (mdns_resp_add_service_txtitem(service, txt, (u8_t)(sizeof(txt) - 1)) != ERR_OK)
        log_warn("mdns", "TXT item does not fit");
}

#if LWIPD_LWIP_VERSION_MM >= 201
static void name_result(struct netif *netif, u8_t result)
{
    (void)netif;
    mdns.probe = result == MDNS_PROBING_SUCCESSFUL ? "ok" : "conflict";
    log_info("mdns", "probing %s.local: %s", mdns.name, mdns.probe);
}
#endif
#if LWIPD_LWIP_VERSION_MM >= 202
static void name_result_slot(struct netif *netif, u8_t result, s8_t slot)
{
    (void)slot;
    name_result(netif, result);
}
#endif

/* Answer for NAME.local with NETIF's address, and announce the service
 * (tcpip thread). 0, or -EIO after logging lwIP's refusal. */
int mdns_app_start(struct netif *netif, const char *name)
{
    err_t e;
    s8_t slot;

    snprintf(mdns.name, sizeof(mdns.name), "%s", name);
    mdns_resp_init();
#if LWIPD_LWIP_VERSION_MM >= 202
    mdns.probe = "pending";
    mdns_resp_register_name_result_cb(name_result_slot);
    e = mdns_resp_add_netif(netif, mdns.name);
#elif LWIPD_LWIP_VERSION_MM >= 201
    mdns.probe = "pending";
    mdns_resp_register_name_result_cb(name_result);
    e = mdns_resp_add_netif(netif, mdns.name, MDNS_APP_TTL);
#else
    e = mdns_resp_add_netif(netif, mdns.name, MDNS_APP_TTL);
#endif
    if (e != ERR_OK) {
        log_err("mdns", "cannot add %s.local: lwIP error %d", mdns.name, (int)e);
        return -EIO;
    }
#if LWIPD_LWIP_VERSION_MM >= 202
    slot = mdns_resp_add_service(netif, mdns.name, MDNS_APP_SERVICE, DNSSD_PROTO_TCP, MDNS_APP_PORT,
                                 txt_cb, NULL);
#else
    slot = (s8_t)mdns_resp_add_service(netif, mdns.name, MDNS_APP_SERVICE, DNSSD_PROTO_TCP,
                                       MDNS_APP_PORT, MDNS_APP_TTL, txt_cb, NULL);
#endif
    if (slot < 0) {
        log_err("mdns", "cannot add service %s._tcp: lwIP error %d", MDNS_APP_SERVICE, (int)slot);
        return -EIO;
    }
    mdns.started = 1;
    log_info("mdns", "lwIP mDNS responder: %s.local, service %s._tcp.local port %d", mdns.name,
             MDNS_APP_SERVICE, MDNS_APP_PORT);
    return 0;
}

void mdns_app_json(cJSON *o)
{
    cJSON_AddBoolToObject(o, "running", mdns.started);
    cJSON_AddStringToObject(o, "name", mdns.name);
    cJSON_AddStringToObject(o, "service", MDNS_APP_SERVICE "._tcp");
    cJSON_AddNumberToObject(o, "service_port", MDNS_APP_PORT);
    cJSON_AddStringToObject(o, "probe", mdns.probe);
}
