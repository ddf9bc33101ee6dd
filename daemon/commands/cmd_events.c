/* SPDX-License-Identifier: MIT */
/* Control command "events": the recent events, or with "follow" every new
 * one as it happens, each a progress line of a deferred answer.
 *
 * Design note
 * -----------
 * Events are recorded lock-free from any thread, ISRs included
 * (base/events.c), so there is nothing to hook for a wake-up. A follower is
 * a libevent timer on the main loop instead: every FOLLOW_TICK_MS it sends
 * the events it has not sent yet, by sequence number, so none is skipped
 * between a backlog and the stream (the client passes the last seq it has
 * as "since") and none comes twice; and it checks that its client is still
 * there, so a follower whose client left ends within a tick even when no
 * event comes. At shutdown every follower is answered (commands_stop()). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/events.h"
#include "daemon/commands_priv.h"
#include "daemon/daemon_priv.h"

#define FOLLOW_TICK_MS 50
#define FOLLOW_BURST   1000 /* events a tick sends at most: the loop stays responsive */
#define RECENT_DEFAULT 100
#define RECENT_MAX     1000

struct follower {
    struct commands_deferred *dd;
    struct event *tick;
    uint64_t next;  /* the sequence number to send next */
    uint64_t sent;  /* events sent (a lost-events line counts as one) */
    uint64_t limit; /* stop after this many; 0: until the client leaves */
    struct follower *prev, *nextf;
};

static struct follower *followers; /* the main loop's only */
static bool stopped;               /* by cmd_events_stop_all(): no new follower */

/* R as a raw JSON item in the events log's shape (cJSON would turn ts_ns
 * into a double and lose its last digits). */
static cJSON *event_item(const struct events_record *r)
{
    char line[EVENTS_TEXT_LEN + 128];

    events_format(r, line, sizeof(line));
    return cJSON_CreateRaw(line);
}

/* End F: with END ("count", "shutdown") its answer; NULL, its client has
 * gone (the answer is dropped). F is freed. */
static void follower_end(struct follower *f, const char *end)
{
    cJSON *fields = NULL;

    if (f->prev)
        f->prev->nextf = f->nextf;
    else
        followers = f->nextf;
    if (f->nextf)
        f->nextf->prev = f->prev;
    event_free(f->tick);
    if (end) {
        fields = cJSON_CreateObject();
        cJSON_AddStringToObject(fields, "end", end);
        cJSON_AddNumberToObject(fields, "sent", (double)f->sent);
        cJSON_AddNumberToObject(fields, "last_seq", (double)(f->next - 1));
    }
    commands_finish(f->dd, fields, NULL);
    free(f);
}

/* Send ITEM (consumed) as a progress line. false: F has ended (its client
 * left, or its count is reached). */
static bool follower_send(struct follower *f, cJSON *item)
{
    cJSON *fields = cJSON_CreateObject();

    if (!fields || !item) {
        cJSON_Delete(fields);
        cJSON_Delete(item);
        return true; /* out of memory: the client sees a gap in seq */
    }
    cJSON_AddItemToObject(fields, "event", item);
    if (commands_progress(f->dd, fields) < 0) {
        follower_end(f, NULL);
        return false;
    }
    if (++f->sent == f->limit) {
        follower_end(f, "count");
        return false;
    }
    return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct follower *f = arg;
    uint64_t last = events_count();
    uint64_t ring = events_ring_size();
    struct events_record r;

    (void)fd, (void)what;
    if (commands_client_gone(f->dd)) {
        follower_end(f, NULL);
        return;
    }
    if (last >= ring && f->next <= last - ring) {
        /* overwritten before we came to them: say so, as the log does */
        char line[96];
        uint64_t lost = last - ring + 1 - f->next;

        snprintf(line, sizeof(line), "{\"api\":%d,\"type\":\"events-lost\",\"count\":%llu}",
                 EVENTS_API, (unsigned long long)lost);
        f->next += lost;
        if (!follower_send(f, cJSON_CreateRaw(line)))
            return;
    }
    for (int n = 0; n < FOLLOW_BURST && f->next <= last; n++) {
        if (events_get(f->next, &r) != 0)
            break; /* still being written: the next tick takes it */
        f->next++;
        if (!follower_send(f, event_item(&r)))
            return;
    }
}

/* "follow": a deferred answer, fed by a timer until the client leaves,
 * "count" events were sent, or lwipd stops. */
static int events_follow(struct commands_ctx *ctx, const cJSON *req, char *err, size_t errlen)
{
    struct timeval tv = {0, FOLLOW_TICK_MS * 1000};
    struct follower *f;
    long since, count;

    if (commands_int_field(req, "since", 0, LONG_MAX, -1, &since, err, errlen) ||
        commands_int_field(req, "count", 1, INT_MAX, 0, &count, err, errlen))
        return -EINVAL;
    if (stopped) { /* a request read in the loop's last turn: owe it nothing */
        snprintf(err, errlen, "lwipd is stopping");
        return -ESHUTDOWN;
    }
    f = calloc(1, sizeof(*f));
    if (!f || !(f->tick = event_new(ctx->d->base, -1, EV_PERSIST, on_tick, f)) ||
        event_add(f->tick, &tv) != 0 || !(f->dd = commands_defer(ctx))) {
        if (f && f->tick)
            event_free(f->tick);
        free(f);
        snprintf(err, errlen, "cannot follow the events: out of memory");
        return -ENOMEM;
    }
    f->next = (since >= 0 ? (uint64_t)since : events_count()) + 1;
    f->limit = (uint64_t)count;
    f->nextf = followers;
    if (followers)
        followers->prev = f;
    followers = f;
    event_active(f->tick, EV_TIMEOUT, 0); /* the backlog since "since" at once */
    return COMMANDS_DEFERRED;
}

/* events [count N] | follow [since SEQ] [count N]: see the design note. */
int cmd_events(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    struct events_record *recs;
    cJSON *arr;
    bool follow;
    long count;
    size_t n;

    if (commands_bool_field(req, "follow", &follow, err, errlen))
        return -EINVAL;
    if (follow)
        return events_follow(ctx, req, err, errlen);
    if (cJSON_GetObjectItemCaseSensitive(req, "since")) {
        snprintf(err, errlen, "\"since\" goes with \"follow\":true");
        return -EINVAL;
    }
    if (commands_int_field(req, "count", 1, RECENT_MAX, RECENT_DEFAULT, &count, err, errlen))
        return -EINVAL;
    recs = malloc((size_t)count * sizeof(*recs));
    arr = cJSON_CreateArray();
    if (!recs || !arr) {
        free(recs);
        cJSON_Delete(arr);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    n = events_recent(recs, (size_t)count);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, event_item(&recs[i]));
    cJSON_AddItemToObject(resp, "events", arr);
    /* where a follower picks up ("since") so that nothing falls between */
    cJSON_AddNumberToObject(resp, "last_seq", (double)(n ? recs[n - 1].seq : events_count()));
    free(recs);
    return 0;
}

/* Answer every follower ("end":"shutdown") and refuse new ones from now
 * on. Returns how many there were. */
int cmd_events_stop_all(void)
{
    int n = 0;

    stopped = true;
    while (followers) {
        follower_end(followers, "shutdown");
        n++;
    }
    return n;
}
