/* SPDX-License-Identifier: MIT */
/* lwIP's own apps: lwipd's switches to the glue of the apps built in.
 *
 * This file is always built; it reaches an app's glue only under its
 * LWIPD_APP_<NAME> (lwipd_config.h), so a build without the app has no
 * reference to it and a switch for it is refused with the meson option to
 * use instead. */
#include "lwipd_config.h"
#include "apps/lwip_apps/lwip_apps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apps/lwip_apps/lwip_apps_priv.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* Parse --mqtt-pub's BROKER_IP[:PORT]:TOPIC:INTERVAL_MS into OUT (port 1883
 * unless given). 0, or -EINVAL with the reason in ERR (OUT then partly
 * written). */
int lwip_apps_parse_mqtt(const char *spec, struct lwip_apps_mqtt *out, char *err, size_t errlen)
{
    char buf[256], *f[4], *save = NULL, *end;
    int n = 0;
    unsigned long x;
    struct in_addr in;

    if (strlen(spec) >= sizeof(buf))
        return ERR("--mqtt-pub: '%s' is too long", spec);
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *t = strtok_r(buf, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
        f[n++] = t;
    if ((n != 3 && n != 4) || strtok_r(NULL, ":", &save))
        return ERR("--mqtt-pub: '%s' is not BROKER_IP[:PORT]:TOPIC:INTERVAL_MS", spec);
    if (inet_pton(AF_INET, f[0], &in) != 1 || in.s_addr == 0)
        return ERR("--mqtt-pub: '%s' is not an IPv4 address", f[0]);
    out->broker = in.s_addr;
    out->port = 1883;
    if (n == 4) {
        errno = 0;
        x = strtoul(f[1], &end, 10);
        if (errno || *end || end == f[1] || x < 1 || x > 65535)
            return ERR("--mqtt-pub: '%s' is not a TCP port (1-65535)", f[1]);
        out->port = (uint16_t)x;
    }
    if (strlen(f[n - 2]) > LWIP_APPS_TOPIC_MAX || strpbrk(f[n - 2], "+#"))
        return ERR("--mqtt-pub: topic '%s' is longer than %d or has a wildcard", f[n - 2],
                   LWIP_APPS_TOPIC_MAX);
    snprintf(out->topic, sizeof(out->topic), "%s", f[n - 2]);
    errno = 0;
    x = strtoul(f[n - 1], &end, 10);
    if (errno || *end || end == f[n - 1] || x < 10 || x > 3600000)
        return ERR("--mqtt-pub: interval '%s' is not 10-3600000 ms", f[n - 1]);
    out->interval_ms = (unsigned)x;
    return 0;
}

/* Check --mdns's NAME: one DNS label of letters, digits and '-'. 0 or
 * -EINVAL with the reason in ERR. */
int lwip_apps_parse_mdns_name(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);

    if (len == 0 || len > LWIP_APPS_NAME_MAX || name[0] == '-' || name[len - 1] == '-' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != len)
        return ERR("--mdns: '%s' is not a host name (1-%d letters, digits, '-')", name,
                   LWIP_APPS_NAME_MAX);
    return 0;
}

/* 0 if every app CFG asks for is built in; else -ENOTSUP with the switch
 * and the meson option that would build it in ERR. */
int lwip_apps_check_built(const struct lwip_apps_config *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *sw, *app;
        int built;
    } apps[] = {
        {"--httpd", "httpd", LWIPD_APP_HTTPD},  {"--sntp", "sntp", LWIPD_APP_SNTP},
        {"--mdns", "mdns", LWIPD_APP_MDNS},     {"--tftp-server", "tftp", LWIPD_APP_TFTP},
        {"--mqtt-pub", "mqtt", LWIPD_APP_MQTT},
    };
    const bool asked[] = {cfg->httpd, cfg->sntp_server != 0, cfg->mdns_name != NULL,
                          cfg->tftp_dir != NULL, cfg->mqtt.broker != 0};

    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
        if (asked[i] && !apps[i].built) {
            snprintf(err, errlen, "%s: lwipd was built without -Dlwip_apps=%s (this build has: %s)",
                     apps[i].sw, apps[i].app, *LWIPD_LWIP_APPS ? LWIPD_LWIP_APPS : "none");
            return -ENOTSUP;
        }
    }
    return 0;
}

/* Start the apps CFG asks for on NETIF, in the tcpip thread, once NETIF is
 * up. 0, or the first failure's -errno (the apps started before it keep
 * running; lwipd then exits anyway). */
int lwip_apps_start(const struct lwip_apps_config *cfg, struct netif *netif)
{
    int err = 0;

    (void)netif;
#if LWIPD_APP_HTTPD
    if (cfg->httpd && (err = httpd_app_start()) != 0)
        return err;
#endif
#if LWIPD_APP_SNTP
    if (cfg->sntp_server && (err = sntp_app_start(netif, cfg->sntp_server)) != 0)
        return err;
#endif
#if LWIPD_APP_MDNS
    if (cfg->mdns_name && (err = mdns_app_start(netif, cfg->mdns_name)) != 0)
        return err;
#endif
#if LWIPD_APP_TFTP
    if (cfg->tftp_dir && (err = tftp_app_start(cfg->tftp_dir)) != 0)
        return err;
#endif
#if LWIPD_APP_MQTT
    if (cfg->mqtt.broker && (err = mqtt_app_start(netif, &cfg->mqtt)) != 0)
        return err;
#endif
    (void)cfg;
    return err;
}

/* {"built": "httpd,sntp", "<app>": {...}} with the counters of each app
 * built in (zeros for one not started); NULL on OOM. */
cJSON *lwip_apps_json(void)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "built", LWIPD_LWIP_APPS);
#define ADD(name, fn)                                                                              \
    do {                                                                                           \
        cJSON *a = cJSON_CreateObject();                                                           \
        if (a) {                                                                                   \
            fn(a);                                                                                 \
            cJSON_AddItemToObject(o, name, a);                                                     \
        }                                                                                          \
    } while (0)
#if LWIPD_APP_HTTPD
    ADD("httpd", httpd_app_json);
#endif
#if LWIPD_APP_SNTP
    ADD("sntp", sntp_app_json);
#endif
#if LWIPD_APP_MDNS
    ADD("mdns", mdns_app_json);
#endif
#if LWIPD_APP_TFTP
    ADD("tftp", tftp_app_json);
#endif
#if LWIPD_APP_MQTT
    ADD("mqtt", mqtt_app_json);
#endif
#undef ADD
    return o;
}
