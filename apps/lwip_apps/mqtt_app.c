/* SPDX-License-Identifier: MIT */
/* A telemetry publisher on lwIP's MQTT client: every --mqtt-pub interval it
 * publishes a counter (QoS 1) to TOPIC on the broker, as firmware would.
 *
 * Link handling is the firmware's, not lwIP's: lwIP's client notices a
 * dead connection only by its keep-alive or a TCP error. The interval
 * timer looks at the netif's link: when the cable is pulled it drops the
 * connection (lwIP forgets the unacknowledged publications with it), and
 * once the link is back it connects again and counts a reconnect. A
 * refused or lost connection is retried on the next tick at least
 * RETRY_MS after it ended. */
#include "lwipd_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lwip/apps/mqtt.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

#define RETRY_MS     500
#define KEEPALIVE_S  10
#define MQTT_APP_QOS 1

enum mqtt_app_state { ST_IDLE, ST_CONNECTING, ST_CONNECTED };

/* Written in the tcpip thread; counters read racily by the control thread. */
static struct {
    struct lwip_apps_mqtt cfg;
    struct netif *netif;
    mqtt_client_t *client;
    ip_addr_t broker;
    char client_id[32];
    char broker_text[IP4ADDR_STRLEN_MAX];
    enum mqtt_app_state state;
    u32_t retry_at; /* sys_now() before which ST_IDLE does not connect */
    int started;
    int had_link; /* the link was up at the last tick */
    uint64_t counter, published, acked, ack_errors, publish_errors;
    uint64_t connects, reconnects, disconnects, link_losses, connect_errors;
} mq;

static const char *const state_names[] = {"idle", "connecting", "connected"};

static void connection_cb(mqtt_client_t *client, void *arg, mqtt_connection_status_t status)
{
    (void)client;
    (void)arg;
    if (status == MQTT_CONNECT_ACCEPTED) {
        mq.state = ST_CONNECTED;
        if (mq.connects++ > 0)
            mq.reconnects++;
        log_info("mqtt", "connected to %s:%u (connection %llu)", mq.broker_text, mq.cfg.port,
                 (unsigned long long)mq.connects);
        return;
    }
    if (mq.state == ST_CONNECTED)
        mq.disconnects++;
    else
        mq.connect_errors++;
    log_warn("mqtt", "connection to %s:%u ended: status %d", mq.broker_text, mq.cfg.port,
             (int)status);
    mq.state = ST_IDLE;
    mq.retry_at = sys_now() + RETRY_MS;
}

static void publish_cb(void *arg, err_t result)
{
    (void)arg;
    if (result == ERR_OK)
        mq.acked++;
    else
        mq.ack_errors++;
}

static void connect_now(void)
{
    const struct mqtt_connect_client_info_t info = {
        .client_id = mq.client_id,
        .keep_alive = KEEPALIVE_S,
    };
    err_t e = mqtt_client_connect(mq.client, &mq.broker, mq.cfg.port, connection_cb, NULL, &info);

    if (e == ERR_OK) {
        mq.state = ST_CONNECTING;
        return;
    }
    mq.connect_errors++;
    mq.retry_at = sys_now() + RETRY_MS;
    log_warn("mqtt", "cannot connect to %s:%u: lwIP error %d", mq.broker_text, mq.cfg.port, (int)e);
}

static void publish_now(void)
{
    char payload[24];
    int n = snprintf(payload, sizeof(payload), "%llu", (unsigned long long)mq.counter + 1);
    err_t e =
        mqtt_publish(mq.client, mq.cfg.topic, payload, (u16_t)n, MQTT_APP_QOS, 0, publish_cb, NULL);

    if (e != ERR_OK) { /* ERR_MEM: output buffer or request slots full */
        mq.publish_errors++;
        return;
    }
    mq.counter++;
    mq.published++;
}

/* The interval timer (tcpip thread): follow the link, connect, publish. */
static void tick(void *arg)
{
    int link = netif_is_link_up(mq.netif) ? 1 : 0;

    (void)arg;
    if (!link && mq.had_link) {
        mq.link_losses++;
        if (mq.state != ST_IDLE) {
            log_info("mqtt", "link down: dropping the connection to %s", mq.broker_text);
            if (mq.state == ST_CONNECTED)
                mq.disconnects++;
            mqtt_disconnect(mq.client); /* no callback: lwIP calls none for this */
            mq.state = ST_IDLE;
        }
    }
    mq.had_link = link;
    if (link && mq.state == ST_IDLE && (s32_t)(sys_now() - mq.retry_at) >= 0)
        connect_now();
    else if (mq.state == ST_CONNECTED && mqtt_client_is_connected(mq.client))
        publish_now();
    sys_timeout(mq.cfg.interval_ms, tick, NULL);
}

/* Publish a counter to CFG's broker and topic every CFG->interval_ms from
 * NETIF, reconnecting after link loss (tcpip thread). 0, or -ENOMEM. */
int mqtt_app_start(struct netif *netif, const struct lwip_apps_mqtt *cfg)
{
    mq.cfg = *cfg;
    mq.netif = netif;
    mq.client = mqtt_client_new();
    if (!mq.client) {
        log_err("mqtt", "mqtt_client_new: out of memory");
        return -ENOMEM;
    }
    ip_addr_set_ip4_u32(&mq.broker, cfg->broker);
    ip4addr_ntoa_r(ip_2_ip4(&mq.broker), mq.broker_text, sizeof(mq.broker_text));
    snprintf(mq.client_id, sizeof(mq.client_id), "lwipd-%02x%02x%02x", netif->hwaddr[3],
             netif->hwaddr[4], netif->hwaddr[5]);
    mq.had_link = netif_is_link_up(netif) ? 1 : 0;
    mq.retry_at = sys_now();
    mq.started = 1;
    log_info("mqtt", "publishing to %s:%u topic '%s' every %u ms as %s", mq.broker_text, cfg->port,
             cfg->topic, cfg->interval_ms, mq.client_id);
    tick(NULL);
    return 0;
}

void mqtt_app_json(cJSON *o)
{
    cJSON_AddBoolToObject(o, "running", mq.started);
    cJSON_AddStringToObject(o, "broker", mq.broker_text);
    cJSON_AddNumberToObject(o, "port", mq.cfg.port);
    cJSON_AddStringToObject(o, "topic", mq.cfg.topic);
    cJSON_AddStringToObject(o, "state", state_names[mq.state]);
    cJSON_AddNumberToObject(o, "published", (double)mq.published);
    cJSON_AddNumberToObject(o, "acked", (double)mq.acked);
    cJSON_AddNumberToObject(o, "ack_errors", (double)mq.ack_errors);
    cJSON_AddNumberToObject(o, "publish_errors", (double)mq.publish_errors);
    cJSON_AddNumberToObject(o, "connects", (double)mq.connects);
    cJSON_AddNumberToObject(o, "reconnects", (double)mq.reconnects);
    cJSON_AddNumberToObject(o, "disconnects", (double)mq.disconnects);
    cJSON_AddNumberToObject(o, "connect_errors", (double)mq.connect_errors);
    cJSON_AddNumberToObject(o, "link_losses", (double)mq.link_losses);
}
