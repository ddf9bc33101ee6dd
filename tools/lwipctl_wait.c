/* SPDX-License-Identifier: MIT */
/* lwipctl wait ready|link-up|quiet: poll lwipd every 50 ms until the
 * condition holds (exit 0) or --timeout seconds pass (exit 75, EX_TEMPFAIL,
 * with the last state seen on stderr). For shell scripts that start lwipd
 * and must not sleep a guessed time before using it. */
#define _GNU_SOURCE
#include "lwipctl_wait.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE    64
#define EXIT_TEMPFAIL 75
#define POLL_US       50000
/* quiet: the driver's frame counters unchanged for this long. */
#define QUIET_S 1.0

struct wait_state {
    const char *sock;
    lwipctl_ask_fn ask;
    double timeout;
    char last[128]; /* why the condition does not hold yet */
    double frames;  /* quiet: rx + tx frames at quiet_since */
    double quiet_since;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ask REQ; the answer if it is an ok one, else NULL with ST->last set. */
static cJSON *ask_ok(struct wait_state *st, const char *req)
{
    cJSON *resp = st->ask(st->sock, req, st->timeout > 2 ? 2 : st->timeout);

    if (!resp) {
        snprintf(st->last, sizeof(st->last), "no answer on %s", st->sock);
        return NULL;
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok"))) {
        snprintf(st->last, sizeof(st->last), "%s answered with an error", st->sock);
        cJSON_Delete(resp);
        return NULL;
    }
    return resp;
}

static bool ready(struct wait_state *st)
{
    cJSON *resp = ask_ok(st, "{\"cmd\":\"status\"}");

    cJSON_Delete(resp);
    return resp != NULL;
}

static bool link_up(struct wait_state *st)
{
    cJSON *resp = ask_ok(st, "{\"cmd\":\"status\"}");
    bool up;

    if (!resp)
        return false;
    up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "lwip_link_up"));
    if (!up)
        snprintf(st->last, sizeof(st->last), "lwIP's link is down");
    cJSON_Delete(resp);
    return up;
}

/* The driver's frames both ways, or -1. */
static double frames(const cJSON *resp)
{
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(resp, "stats");
    const cJSON *drv = cJSON_GetObjectItemCaseSensitive(stats, "driver");
    const cJSON *rx = cJSON_GetObjectItemCaseSensitive(drv, "rx_frames");
    const cJSON *tx = cJSON_GetObjectItemCaseSensitive(drv, "tx_frames");

    if (!cJSON_IsNumber(rx) || !cJSON_IsNumber(tx))
        return -1;
    return rx->valuedouble + tx->valuedouble;
}

static bool quiet(struct wait_state *st)
{
    cJSON *resp = ask_ok(st, "{\"cmd\":\"stats\"}");
    double n, t = now_s();

    if (!resp)
        return false;
    n = frames(resp);
    cJSON_Delete(resp);
    if (n < 0) {
        snprintf(st->last, sizeof(st->last), "no driver frame counters in stats");
        return false;
    }
    if (n != st->frames || st->quiet_since == 0) {
        st->frames = n;
        st->quiet_since = t;
        snprintf(st->last, sizeof(st->last), "frames still flowing");
        return false;
    }
    return t - st->quiet_since >= QUIET_S;
}

/* `wait CONDITION`: ARGV[0] is "wait". TIMEOUT: seconds in all. Returns
 * the exit status: 0 held, 75 timed out, 64 usage. */
int lwipctl_wait(int argc, char **argv, const char *sock, double timeout, lwipctl_ask_fn ask)
{
    static const struct {
        const char *name;
        bool (*holds)(struct wait_state *);
    } conds[] = {{"ready", ready}, {"link-up", link_up}, {"quiet", quiet}};
    struct wait_state st = {.sock = sock, .ask = ask, .timeout = timeout};
    bool (*holds)(struct wait_state *) = NULL;
    double deadline;

    for (size_t i = 0; argc == 2 && i < sizeof(conds) / sizeof(conds[0]); i++)
        if (strcmp(argv[1], conds[i].name) == 0)
            holds = conds[i].holds;
    if (!holds) {
        fprintf(stderr, "lwipctl: usage: wait ready|link-up|quiet [--timeout SEC]\n");
        return EXIT_USAGE;
    }
    deadline = now_s() + timeout;
    for (;;) {
        if (holds(&st))
            return 0;
        if (now_s() >= deadline)
            break;
        usleep(POLL_US);
    }
    fprintf(stderr, "lwipctl: wait %s: timed out after %g s (%s)\n", argv[1], timeout, st.last);
    return EXIT_TEMPFAIL;
}
