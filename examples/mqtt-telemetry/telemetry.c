/* SPDX-License-Identifier: MIT */
/* A telemetry publisher on lwIP's own MQTT client (src/apps/mqtt), running
 * inside lwipd as firmware would: every interval it takes a sample (a
 * sequence number, 1, 2, ...) and publishes it with QoS 1 to a broker,
 * delivering every sample at least once across lost frames, pulled cables
 * and lost connections.
 *
 * Design note. lwIP's client runs in the tcpip thread with the raw API;
 * so does this app, on lwIP timers (sys_timeout), without threads:
 *  - samples wait in a queue until the broker acknowledges them (PUBACK).
 *    lwIP's client forgets its in-flight requests when the connection ends
 *    (no callback), so the app keeps its own: a sample published on a
 *    connection that ended unacknowledged is published again on the next
 *    one (counted in `resent`). Each connection has a generation number;
 *    a sample is in flight on one generation at most.
 *  - a supervisor timer (SUPERVISE_MS) follows the link, connects, times
 *    out a connection that does not come up, and publishes what waits, at
 *    most `window` samples in flight (lwIP's MQTT_REQ_MAX_IN_FLIGHT).
 *  - link loss: lwIP's TCP survives a short pull; a link down for longer
 *    than grace_ms drops the session (as firmware does on a PHY event),
 *    and a new one is made once the link is back. Failed or lost
 *    connections are retried after a backoff that doubles up to
 *    backoff_max_ms and starts again at backoff_ms once a connection is
 *    accepted.
 *
 * ARGS, counters and the `status` command: see README.md beside this file.
 */
#include <lwipd/app.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwipd_config.h"
#include "lwip/apps/mqtt.h"
#include "lwip/ip_addr.h"
#include "lwip/mem.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"

#if !LWIPD_APP_MQTT
#error "this lwipd was built without lwIP's MQTT client: rebuild it with -Dlwip_apps=mqtt"
#endif

#define SUPERVISE_MS 50  /* link, connection and publishing checks */
#define QUEUE_MAX    512 /* samples waiting for their PUBACK */
#define TOPIC_MAX    64
#define PAYLOAD_MAX  64

enum tm_state { ST_WAIT, ST_CONNECTING, ST_CONNECTED };
static const char *const state_names[] = {"waiting", "connecting", "connected"};

/* A sample waiting for its PUBACK. */
struct sample {
    uint32_t seq;    /* 0: free slot */
    uint32_t made;   /* sys_now() when taken */
    uint32_t tries;  /* PUBLISH packets handed to lwIP for it */
    uint32_t flight; /* generation it is in flight on; 0: not in flight */
};

/* The app's configuration (ARGS). */
struct tm_config {
    ip_addr_t broker;
    char broker_text[IP4ADDR_STRLEN_MAX];
    uint16_t port;
    char topic[TOPIC_MAX];
    char client_id[32];
    uint32_t count; /* samples to take; 0: for ever */
    uint32_t interval_ms, grace_ms, backoff_ms, backoff_max_ms, connect_timeout_ms;
    uint16_t keepalive_s;
    uint32_t window;
};

enum tm_counter {
    C_SAMPLES,
    C_PUBLISHED,
    C_ACKED,
    C_RESENT,
    C_PENDING,
    C_CONNECTS,
    C_RECONNECTS,
    C_CONNECT_ERRORS,
    C_DISCONNECTS,
    C_LINK_LOSSES,
    C_LINK_DROPS,
    C_TIMEOUTS,
    C_IN_FLIGHT_LOST,
    C_DROPPED,
    C_MAX
};
static const char *const counter_names[C_MAX] = {
    "samples",    "published",  "acked",          "resent",      "pending",
    "connects",   "reconnects", "connect_errors", "disconnects", "link_losses",
    "link_drops", "timeouts",   "in_flight_lost", "dropped"};

/* Everything is touched in the tcpip thread, under the core lock; the
 * `status` command takes the lock to read it. */
static struct {
    struct lwipd_app *app;
    struct tm_config cfg;
    struct netif *netif;
    mqtt_client_t *client;
    enum tm_state state;
    uint32_t gen;          /* the connection's generation (1, 2, ...) */
    uint32_t in_flight;    /* samples published on this generation, not acked */
    uint32_t next_seq;     /* the next sample's number */
    uint32_t since;        /* sys_now() the state began */
    uint32_t retry_at;     /* ST_WAIT: sys_now() from which to connect */
    uint32_t backoff;      /* the next failure's wait */
    uint32_t link_down_at; /* sys_now() the link was seen down */
    int link_up;           /* the link at the last check */
    uint64_t n[C_MAX];
    struct lwipd_app_counter *c[C_MAX];
    struct sample q[QUEUE_MAX];
} tm;

static void count(enum tm_counter i, uint64_t add)
{
    tm.n[i] += add;
    lwipd_app_counter_add(tm.c[i], add);
}

static void set_pending(uint64_t v)
{
    tm.n[C_PENDING] = v;
    lwipd_app_counter_set(tm.c[C_PENDING], v);
}

static int after(uint32_t now, uint32_t t)
{
    return (int32_t)(now - t) >= 0;
}

/* The connection ended (any cause): what was in flight on it is to be
 * published again on the next one; retry after the backoff, doubled. */
static void session_lost(void)
{
    uint32_t now = sys_now();

    count(C_IN_FLIGHT_LOST, tm.in_flight);
    for (int i = 0; i < QUEUE_MAX; i++)
        tm.q[i].flight = 0;
    tm.in_flight = 0;
    tm.gen++;
    tm.state = ST_WAIT;
    tm.since = now;
    tm.retry_at = now + tm.backoff;
    tm.backoff = tm.backoff * 2 > tm.cfg.backoff_max_ms ? tm.cfg.backoff_max_ms : tm.backoff * 2;
}

/* lwIP's connection callback: CONNACK accepted, or the connection ended by
 * lwIP (refused, closed by the broker, TCP error, keep-alive timeout). Not
 * called for mqtt_disconnect(). */
static void connection_cb(mqtt_client_t *client, void *arg, mqtt_connection_status_t status)
{
    (void)client, (void)arg;
    if (status == MQTT_CONNECT_ACCEPTED) {
        tm.state = ST_CONNECTED;
        tm.since = sys_now();
        tm.backoff = tm.cfg.backoff_ms;
        count(C_CONNECTS, 1);
        if (tm.n[C_CONNECTS] > 1)
            count(C_RECONNECTS, 1);
        lwipd_app_log(tm.app, LWIPD_APP_LOG_INFO, "connected to %s:%u (connection %" PRIu64 ")",
                      tm.cfg.broker_text, tm.cfg.port, tm.n[C_CONNECTS]);
        return;
    }
    count(tm.state == ST_CONNECTED ? C_DISCONNECTS : C_CONNECT_ERRORS, 1);
    lwipd_app_log(tm.app, LWIPD_APP_LOG_WARN, "connection to %s:%u ended (MQTT status %d)",
                  tm.cfg.broker_text, tm.cfg.port, (int)status);
    session_lost();
}

/* The app drops the session itself (link gone, connect timed out):
 * lwIP's client closes the TCP connection and calls no callback. */
static void drop_session(const char *why)
{
    count(tm.state == ST_CONNECTED ? C_DISCONNECTS : C_CONNECT_ERRORS, 1);
    lwipd_app_log(tm.app, LWIPD_APP_LOG_INFO, "dropping the connection to %s: %s",
                  tm.cfg.broker_text, why);
    mqtt_disconnect(tm.client);
    session_lost();
}

static struct sample *find(uint32_t seq)
{
    for (int i = 0; i < QUEUE_MAX; i++)
        if (tm.q[i].seq == seq)
            return &tm.q[i];
    return NULL;
}

/* The request's argument: the generation and the sequence number (so that
 * an answer for a sample that was dropped from a full queue, its slot
 * reused, is not taken for the new sample's). */
_Static_assert(sizeof(uintptr_t) >= 8, "a request token packs two 32-bit numbers");
static void *token(uint32_t gen, uint32_t seq)
{
    return (void *)(((uintptr_t)gen << 32) | seq);
}

/* lwIP's request callback: PUBACK (ERR_OK), or the request timed out
 * (MQTT_REQ_TIMEOUT) on a connection that goes on. */
static void publish_cb(void *arg, err_t result)
{
    uint32_t gen = (uint32_t)((uintptr_t)arg >> 32), seq = (uint32_t)(uintptr_t)arg;
    struct sample *s = find(seq);

    if (!s || s->flight != gen || gen != tm.gen)
        return; /* a stale answer: the sample is tracked by its new try */
    s->flight = 0;
    tm.in_flight--;
    if (result != ERR_OK) {
        count(C_TIMEOUTS, 1); /* published again by the next pump() */
        return;
    }
    memset(s, 0, sizeof(*s));
    count(C_ACKED, 1);
    set_pending(tm.n[C_PENDING] - 1);
}

/* The oldest sample not in flight, or NULL. */
static struct sample *next_to_send(void)
{
    struct sample *best = NULL;

    for (int i = 0; i < QUEUE_MAX; i++)
        if (tm.q[i].seq && !tm.q[i].flight && (!best || tm.q[i].seq < best->seq))
            best = &tm.q[i];
    return best;
}

/* Publish what waits, oldest first, while the window and lwIP's client
 * (its request slots, its output buffer: ERR_MEM) take more. */
static void pump(void)
{
    struct sample *s;

    while (tm.state == ST_CONNECTED && tm.in_flight < tm.cfg.window && (s = next_to_send())) {
        char payload[PAYLOAD_MAX];
        int n = snprintf(payload, sizeof(payload),
                         "{\"seq\":%" PRIu32 ",\"made_ms\":%" PRIu32 ",\"try\":%" PRIu32 "}",
                         s->seq, s->made, s->tries + 1);
        err_t e = mqtt_publish(tm.client, tm.cfg.topic, payload, (u16_t)n, 1, 0, publish_cb,
                               token(tm.gen, s->seq));

        if (e != ERR_OK)
            return; /* full: the next check tries again */
        s->flight = tm.gen;
        tm.in_flight++;
        count(C_PUBLISHED, 1);
        if (s->tries++ > 0)
            count(C_RESENT, 1);
    }
}

static void connect_now(void)
{
    struct mqtt_connect_client_info_t info;
    err_t e;

    memset(&info, 0, sizeof(info));
    info.client_id = tm.cfg.client_id;
    info.keep_alive = tm.cfg.keepalive_s;
    e = mqtt_client_connect(tm.client, &tm.cfg.broker, tm.cfg.port, connection_cb, NULL, &info);
    if (e != ERR_OK) {
        count(C_CONNECT_ERRORS, 1);
        lwipd_app_log(tm.app, LWIPD_APP_LOG_WARN, "cannot connect to %s:%u: lwIP error %d",
                      tm.cfg.broker_text, tm.cfg.port, (int)e);
        session_lost();
        return;
    }
    tm.state = ST_CONNECTING;
    tm.since = sys_now();
}

/* The supervisor (tcpip thread, every SUPERVISE_MS). */
static void supervise(void *arg)
{
    uint32_t now = sys_now();
    int link = netif_is_link_up(tm.netif) ? 1 : 0;

    (void)arg;
    if (!link && tm.link_up) {
        count(C_LINK_LOSSES, 1);
        tm.link_down_at = now;
    }
    tm.link_up = link;
    if (!link) {
        if (tm.state != ST_WAIT && after(now, tm.link_down_at + tm.cfg.grace_ms)) {
            count(C_LINK_DROPS, 1);
            drop_session("the link is down");
        }
    } else if (tm.state == ST_WAIT && after(now, tm.retry_at)) {
        connect_now();
    } else if (tm.state == ST_CONNECTING && after(now, tm.since + tm.cfg.connect_timeout_ms)) {
        drop_session("no CONNACK in time");
    }
    pump();
    sys_timeout(SUPERVISE_MS, supervise, NULL);
}

/* The sampler (tcpip thread, every interval_ms until count samples). A
 * full queue loses its oldest sample (counted in `dropped`). */
static void take_sample(void *arg)
{
    struct sample *s = find(0);

    (void)arg;
    if (!s) {
        s = &tm.q[0];
        for (int i = 1; i < QUEUE_MAX; i++)
            if (tm.q[i].seq < s->seq)
                s = &tm.q[i];
        if (s->flight)
            tm.in_flight--;
        count(C_DROPPED, 1);
        set_pending(tm.n[C_PENDING] - 1);
    }
    s->seq = tm.next_seq++;
    s->made = sys_now();
    s->tries = 0;
    s->flight = 0;
    count(C_SAMPLES, 1);
    set_pending(tm.n[C_PENDING] + 1);
    pump();
    if (tm.cfg.count == 0 || tm.next_seq <= tm.cfg.count)
        sys_timeout(tm.cfg.interval_ms, take_sample, NULL);
}

/* `lwipctl app mqtt_telemetry status`: the state and every counter. Runs
 * in lwipd's control thread: reads the app's state under the core lock. */
static int cmd_status(struct lwipd_app *app, int argc, char **argv, struct lwipd_app_reply *r,
                      void *arg)
{
    struct sample *oldest = NULL;

    (void)app, (void)argv, (void)arg;
    if (argc != 1) {
        lwipd_app_reply_error(r, "status takes no arguments");
        return -1;
    }
    LOCK_TCPIP_CORE();
    for (int i = 0; i < QUEUE_MAX; i++)
        if (tm.q[i].seq && (!oldest || tm.q[i].seq < oldest->seq))
            oldest = &tm.q[i];
    lwipd_app_reply_str(r, "state", state_names[tm.state]);
    lwipd_app_reply_str(r, "broker", tm.cfg.broker_text);
    lwipd_app_reply_int(r, "port", tm.cfg.port);
    lwipd_app_reply_str(r, "topic", tm.cfg.topic);
    lwipd_app_reply_str(r, "client_id", tm.cfg.client_id);
    lwipd_app_reply_int(r, "count", tm.cfg.count);
    lwipd_app_reply_bool(r, "done", tm.cfg.count && tm.n[C_ACKED] == tm.cfg.count);
    lwipd_app_reply_bool(r, "link", tm.link_up);
    lwipd_app_reply_int(r, "connection", tm.gen);
    lwipd_app_reply_int(r, "in_flight", tm.in_flight);
    lwipd_app_reply_int(r, "oldest_pending", oldest ? oldest->seq : 0);
    lwipd_app_reply_int(r, "backoff_ms", tm.backoff);
    lwipd_app_reply_begin(r, "counters");
    for (int i = 0; i < C_MAX; i++)
        lwipd_app_reply_int(r, counter_names[i], (long long)tm.n[i]);
    lwipd_app_reply_end(r);
    UNLOCK_TCPIP_CORE();
    return 0;
}

/* One KEY=VALUE number of ARGS into *V, MIN..MAX. 0 or -EINVAL. */
static int arg_u32(const char *val, uint32_t min, uint32_t max, uint32_t *v)
{
    char *end;
    unsigned long n = strtoul(val, &end, 10);

    if (!*val || *end || n < min || n > max)
        return -EINVAL;
    *v = (uint32_t)n;
    return 0;
}

/* ARGS (README.md) into tm.cfg. 0, or -EINVAL after logging what is wrong. */
static int parse_args(const char *args)
{
    struct tm_config *c = &tm.cfg;
    char buf[512], *save = NULL;
    uint32_t v;
    int have_broker = 0;

    memset(c, 0, sizeof(*c));
    c->port = 1883;
    snprintf(c->topic, sizeof(c->topic), "lwipd/telemetry");
    c->count = 0;
    c->interval_ms = 1000;
    c->grace_ms = 500;
    c->backoff_ms = 250;
    c->backoff_max_ms = 8000;
    c->connect_timeout_ms = 5000;
    c->keepalive_s = 10;
    c->window = MQTT_REQ_MAX_IN_FLIGHT;
    if (strlen(args) >= sizeof(buf))
        goto bad;
    snprintf(buf, sizeof(buf), "%s", args);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *val = strchr(t, '=');
        int e = 0;

        if (!val) {
            lwipd_app_log(tm.app, LWIPD_APP_LOG_ERR, "'%s' is not KEY=VALUE (see README.md)", t);
            return -EINVAL;
        }
        *val++ = '\0';
        if (strcmp(t, "broker") == 0) {
            have_broker = ip4addr_aton(val, ip_2_ip4(&c->broker));
            IP_SET_TYPE(&c->broker, IPADDR_TYPE_V4);
            e = have_broker ? 0 : -EINVAL;
        } else if (strcmp(t, "port") == 0) {
            e = arg_u32(val, 1, 65535, &v);
            c->port = (uint16_t)v;
        } else if (strcmp(t, "topic") == 0) {
            e = *val && strlen(val) < sizeof(c->topic) && !strpbrk(val, "+#") ? 0 : -EINVAL;
            snprintf(c->topic, sizeof(c->topic), "%s", val);
        } else if (strcmp(t, "client_id") == 0) {
            e = *val && strlen(val) < sizeof(c->client_id) ? 0 : -EINVAL;
            snprintf(c->client_id, sizeof(c->client_id), "%s", val);
        } else if (strcmp(t, "count") == 0) {
            e = arg_u32(val, 0, UINT32_MAX - 1, &c->count);
        } else if (strcmp(t, "interval_ms") == 0) {
            e = arg_u32(val, 10, 3600000, &c->interval_ms);
        } else if (strcmp(t, "grace_ms") == 0) {
            e = arg_u32(val, 0, 3600000, &c->grace_ms);
        } else if (strcmp(t, "backoff_ms") == 0) {
            e = arg_u32(val, 10, 600000, &c->backoff_ms);
        } else if (strcmp(t, "backoff_max_ms") == 0) {
            e = arg_u32(val, 10, 600000, &c->backoff_max_ms);
        } else if (strcmp(t, "connect_timeout_ms") == 0) {
            e = arg_u32(val, 100, 600000, &c->connect_timeout_ms);
        } else if (strcmp(t, "keepalive_s") == 0) {
            e = arg_u32(val, 0, 65535, &v);
            c->keepalive_s = (uint16_t)v;
        } else if (strcmp(t, "window") == 0) {
            e = arg_u32(val, 1, MQTT_REQ_MAX_IN_FLIGHT, &c->window);
        } else {
            lwipd_app_log(tm.app, LWIPD_APP_LOG_ERR, "unknown argument '%s' (see README.md)", t);
            return -EINVAL;
        }
        if (e) {
            lwipd_app_log(tm.app, LWIPD_APP_LOG_ERR, "bad value '%s' for %s", val, t);
            return -EINVAL;
        }
    }
    if (!have_broker) {
        lwipd_app_log(tm.app, LWIPD_APP_LOG_ERR, "no broker=ADDRESS in the arguments");
        return -EINVAL;
    }
    if (c->backoff_max_ms < c->backoff_ms)
        c->backoff_max_ms = c->backoff_ms;
    ip4addr_ntoa_r(ip_2_ip4(&c->broker), c->broker_text, sizeof(c->broker_text));
    return 0;
bad:
    lwipd_app_log(tm.app, LWIPD_APP_LOG_ERR, "arguments too long");
    return -EINVAL;
}

/* In the tcpip thread, core lock held: parse ARGS, make lwIP's client, the
 * counters and the command, and start the two timers. */
static int telemetry_start(struct lwipd_app *app, const char *args)
{
    memset(&tm, 0, sizeof(tm));
    tm.app = app;
    tm.netif = lwipd_app_netif(app);
    if (parse_args(args) != 0)
        return -EINVAL;
    if (!tm.cfg.client_id[0])
        snprintf(tm.cfg.client_id, sizeof(tm.cfg.client_id), "lwipd-telemetry-%02x%02x%02x",
                 tm.netif->hwaddr[3], tm.netif->hwaddr[4], tm.netif->hwaddr[5]);
    for (int i = 0; i < C_MAX; i++)
        tm.c[i] = lwipd_app_counter_new(app, counter_names[i]);
    if (lwipd_app_command_add(app, "status", "the publisher's state and counters (JSON)",
                              cmd_status, NULL) != 0)
        return -EINVAL;
    tm.client = mqtt_client_new();
    if (!tm.client) {
        lwipd_app_log(app, LWIPD_APP_LOG_ERR, "mqtt_client_new: out of memory");
        return -ENOMEM;
    }
    tm.gen = 1;
    tm.next_seq = 1;
    tm.state = ST_WAIT;
    tm.backoff = tm.cfg.backoff_ms;
    tm.retry_at = sys_now();
    tm.link_up = netif_is_link_up(tm.netif) ? 1 : 0;
    lwipd_app_log(app, LWIPD_APP_LOG_INFO,
                  "publishing %" PRIu32 " samples (0: for ever) every %" PRIu32
                  " ms to %s:%u topic '%s' as %s, QoS 1",
                  tm.cfg.count, tm.cfg.interval_ms, tm.cfg.broker_text, tm.cfg.port, tm.cfg.topic,
                  tm.cfg.client_id);
    sys_timeout(tm.cfg.interval_ms, take_sample, NULL);
    sys_timeout(0, supervise, NULL);
    return 0;
}

/* lwIP's MQTT client closes its TCP connection with altcp_close(); with
 * LWIP_ALTCP=0 that is tcp_close(), which leaves a closing pcb's argument
 * (the client) and poll callback (mqtt_tcp_poll_cb) in place for as long
 * as it lingers (FIN_WAIT_1, LAST_ACK, ...). Before the client is freed,
 * make every such pcb forget it, so that its next poll does not read
 * freed memory. (With LWIP_ALTCP=1 the altcp layer already does this.) */
static void forget_pcbs(void *client)
{
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next) {
        if (p->callback_arg == client) {
            tcp_poll(p, NULL, p->pollinterval);
            tcp_arg(p, NULL);
        }
    }
}

/* In the tcpip thread, core lock held: stop the timers, close the
 * connection, free lwIP's client. */
static void telemetry_stop(struct lwipd_app *app)
{
    (void)app;
    sys_untimeout(take_sample, NULL);
    sys_untimeout(supervise, NULL);
    mqtt_disconnect(tm.client);
    forget_pcbs(tm.client);
#if LWIP_VERSION_MAJOR == 2 && LWIP_VERSION_MINOR == 0
    mem_free(tm.client); /* what 2.0's mqtt_client_new() took; 2.0 has no mqtt_client_free() */
#else
    mqtt_client_free(tm.client);
#endif
    tm.client = NULL;
    lwipd_app_log(tm.app, LWIPD_APP_LOG_INFO,
                  "stopped: %" PRIu64 " of %" PRIu64 " samples acknowledged", tm.n[C_ACKED],
                  tm.n[C_SAMPLES]);
}

LWIPD_APP_DEFINE(mqtt_telemetry, telemetry_start, telemetry_stop);
