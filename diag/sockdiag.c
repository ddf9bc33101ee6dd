/* SPDX-License-Identifier: MIT */
/* lwIP socket-slot diagnostics.
 *
 * Design note
 * -----------
 * lwIP keeps its sockets in a static array of NUM_SOCKETS (= MEMP_NUM_NETCONN)
 * slots. lwIP >= 2.1 lends a slot out through lwip_socket_dbg_get_socket();
 * 2.0.x keeps the array private. The probe therefore works from the outside
 * and on every version, when traffic has stopped:
 *   1. open TCP sockets until socket() fails, remembering each fd and the
 *      errno of the failure;
 *   2. ask every slot it did not get whether it has a connection, with
 *      lwip_fcntl(F_GETFL), which fails with EBADF on a slot without one;
 *   3. close what it opened.
 * A slot without a connection that socket() would not hand out (the probe
 * stopped on ENFILE: a netconn was there, a slot was not) is stuck. On 2.0.2
 * and 2.0.3 alloc_socket() takes a slot only when conn == NULL and
 * select_waiting == 0, so a stuck slot there proves a raised select_waiting
 * counter; on >= 2.1 the table says which counter holds it.
 *
 * This file uses lwIP's sockets API only (no host socket header).
 */
#define _GNU_SOURCE /* strerrorname_np */
#include "lwipd_config.h"
#include "diag/sockdiag.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/sockets.h"
#include "lwip/sys.h"

#include "port/lwip_compat.h"

#if LWIPD_LWIP_AT_LEAST(2, 1)
#include "lwip/priv/sockets_priv.h"
#define SOCKDIAG_TABLE 1
#else
#define SOCKDIAG_TABLE 0
#endif

#define SOCKDIAG_NUM ((int)MEMP_NUM_NETCONN) /* lwIP's NUM_SOCKETS */

#if MEMP_NUM_NETCONN > SOCKDIAG_MAX_SLOTS
#error "lwipd: MEMP_NUM_NETCONN is larger than SOCKDIAG_MAX_SLOTS"
#endif

int sockdiag_num_sockets(void)
{
    return SOCKDIAG_NUM;
}

int sockdiag_offset(void)
{
    return LWIP_SOCKET_OFFSET;
}

/* True when this lwIP lends its socket table out (>= 2.1). */
bool sockdiag_has_table(void)
{
    return SOCKDIAG_TABLE;
}

#if SOCKDIAG_TABLE
/* One slot's entry (under SYS_ARCH_PROTECT); fields not built read -1. */
static void read_slot(int fd, struct sockdiag_slot *o)
{
    struct lwip_sock *s = lwip_socket_dbg_get_socket(fd);

    memset(o, 0xff, sizeof(*o));
    o->fd = fd;
    o->conn = s && s->conn != NULL;
    if (!s)
        return;
#if LWIP_SOCKET_SELECT || LWIP_SOCKET_POLL
    o->select_waiting = s->select_waiting;
    o->rcvevent = s->rcvevent;
    o->sendevent = s->sendevent;
    o->errevent = s->errevent;
#endif
#if LWIP_NETCONN_FULLDUPLEX
    o->fd_used = s->fd_used;
    o->fd_free_pending = s->fd_free_pending;
#endif
}
#endif

/* Copy up to MAX entries of lwIP's socket table into OUT, consistently
 * (under SYS_ARCH_PROTECT). Returns the count, or -ENOTSUP on lwIP 2.0.x. */
int sockdiag_table(struct sockdiag_slot *out, int max)
{
#if SOCKDIAG_TABLE
    int n = max < SOCKDIAG_NUM ? max : SOCKDIAG_NUM;
    SYS_ARCH_DECL_PROTECT(lev);

    SYS_ARCH_PROTECT(lev);
    for (int i = 0; i < n; i++)
        read_slot(i + LWIP_SOCKET_OFFSET, &out[i]);
    SYS_ARCH_UNPROTECT(lev);
    return n;
#else
    (void)out, (void)max;
    return -ENOTSUP;
#endif
}

/* Run the black-box probe (see the design note) from the calling thread,
 * which must not be the tcpip thread. Meant for a quiet stack: it takes
 * every free slot for a moment. Fills RES; returns 0 or -ENOMEM. */
int sockdiag_probe(struct sockdiag_probe *res)
{
    int *fds = calloc(SOCKDIAG_NUM, sizeof(*fds));
    char *got = calloc(SOCKDIAG_NUM, 1);
    int n = 0;

    if (!fds || !got) {
        free(fds);
        free(got);
        return -ENOMEM;
    }
    memset(res, 0, sizeof(*res));
    res->num_sockets = SOCKDIAG_NUM;
    res->offset = LWIP_SOCKET_OFFSET;
    while (n < SOCKDIAG_NUM) {
        int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
        int i = fd - LWIP_SOCKET_OFFSET;

        if (fd < 0) {
            res->stop_errno = errno;
            break;
        }
        fds[n++] = fd;
        if (i >= 0 && i < SOCKDIAG_NUM)
            got[i] = 1;
    }
    res->allocated = n;
    for (int i = 0; i < SOCKDIAG_NUM; i++) {
        int fd = i + LWIP_SOCKET_OFFSET;

        if (got[i])
            continue;
        if (lwip_fcntl(fd, F_GETFL, 0) >= 0)
            res->open[res->nopen++] = fd;
        else if (res->stop_errno == ENFILE)
            res->stuck[res->nstuck++] = fd;
        else
            res->unverified[res->nunverified++] = fd;
    }
    for (int k = 0; k < n; k++) {
        if (lwip_close(fds[k]) != 0)
            res->close_errors++;
    }
    free(fds);
    free(got);
    return 0;
}

/* Why the probe's stuck slots are stuck, as far as this lwIP version lets
 * us know; a static string. */
const char *sockdiag_stuck_cause(const struct sockdiag_probe *res)
{
    if (res->nstuck == 0)
        return "none";
#if !LWIPD_LWIP_AT_LEAST(2, 1)
    return "select_waiting: lwIP 2.0.x's alloc_socket() hands out a slot only when conn == NULL "
           "and select_waiting == 0; these slots have no connection yet are refused, so their "
           "select_waiting counter stayed raised: a select() slept on the socket while another "
           "thread closed it, and its cleanup skipped the closed socket (lwIP bugs #44032, "
           "#57445; reworked in 2.1)";
#else
    return "lwIP >= 2.1 refuses a slot without a connection only while fd_used holds it "
           "(LWIP_NETCONN_FULLDUPLEX: a close is pending until another thread, e.g. a select(), "
           "lets go of the socket); see the table's fd_used, fd_free_pending and select_waiting";
#endif
}

/* ---- JSON ------------------------------------------------------------------- */

static cJSON *slot_json(const struct sockdiag_slot *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "fd", e->fd);
    cJSON_AddBoolToObject(o, "conn", e->conn);
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"select_waiting", offsetof(struct sockdiag_slot, select_waiting)},
        {"fd_used", offsetof(struct sockdiag_slot, fd_used)},
        {"fd_free_pending", offsetof(struct sockdiag_slot, fd_free_pending)},
        {"rcvevent", offsetof(struct sockdiag_slot, rcvevent)},
        {"sendevent", offsetof(struct sockdiag_slot, sendevent)},
        {"errevent", offsetof(struct sockdiag_slot, errevent)},
    };

    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        int v = *(const int *)((const char *)e + fields[k].off);
        if (v >= 0) /* -1: not built into this lwIP */
            cJSON_AddNumberToObject(o, fields[k].name, v);
    }
    return o;
}

/* lwIP's socket table as a JSON array, or JSON null on lwIP 2.0.x. */
cJSON *sockdiag_table_json(void)
{
    struct sockdiag_slot *t = calloc(SOCKDIAG_NUM, sizeof(*t));
    int n = t ? sockdiag_table(t, SOCKDIAG_NUM) : -ENOMEM;
    cJSON *arr;

    if (n < 0) {
        free(t);
        return cJSON_CreateNull();
    }
    arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, slot_json(&t[i]));
    free(t);
    return arr;
}

static cJSON *fd_list(const int *fds, int n)
{
    return cJSON_CreateIntArray(fds, n);
}

/* The probe's result: counts, fd lists, the errno that stopped it, the
 * cause of stuck slots; each stuck slot with its table entry (>= 2.1). */
cJSON *sockdiag_probe_json(const struct sockdiag_probe *res)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *details = cJSON_CreateArray();
    const char *en = res->stop_errno ? strerrorname_np(res->stop_errno) : NULL;

    cJSON_AddNumberToObject(o, "num_sockets", res->num_sockets);
    cJSON_AddNumberToObject(o, "free", res->allocated);
    if (res->stop_errno)
        cJSON_AddStringToObject(o, "stopped_by", en ? en : "?");
    else
        cJSON_AddNullToObject(o, "stopped_by");
    cJSON_AddItemToObject(o, "open", fd_list(res->open, res->nopen));
    cJSON_AddItemToObject(o, "stuck", fd_list(res->stuck, res->nstuck));
    cJSON_AddItemToObject(o, "unverified", fd_list(res->unverified, res->nunverified));
    cJSON_AddNumberToObject(o, "close_errors", res->close_errors);
    cJSON_AddStringToObject(o, "cause", sockdiag_stuck_cause(res));
#if SOCKDIAG_TABLE
    for (int k = 0; k < res->nstuck; k++) {
        struct sockdiag_slot e;
        SYS_ARCH_DECL_PROTECT(lev);

        SYS_ARCH_PROTECT(lev);
        read_slot(res->stuck[k], &e);
        SYS_ARCH_UNPROTECT(lev);
        cJSON_AddItemToArray(details, slot_json(&e));
    }
#endif
    cJSON_AddItemToObject(o, "stuck_slots", details);
    return o;
}

/* ---- the probe worker ---------------------------------------------------- */

static struct {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool started, busy;
    sockdiag_probe_cb done;
    void *arg;
} worker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, NULL, NULL};

/* ---- socket-slot health (the leak report) ---------------------------------- */

/* A slot is unhealthy when it has no connection yet lwIP still counts it
 * as used, so that socket() will not hand it out (or, on >= 2.1 without
 * fd_used, hands it out to a select() that still waits on the old one).
 * lwIP >= 2.1: read from the table, nothing disturbed. 2.0.x: the probe
 * (it takes every free slot for a moment, so only one runs at a time: a
 * probe already running makes this check "busy", not healthy).
 * fd_free_pending alone is not stuck: lwIP 2.1's done_socket() completes a
 * deferred free (conn gone, fd_used back to 0) without clearing it, and
 * alloc_socket() hands such a slot out (and clears it then). */
cJSON *sockdiag_health_json(bool *healthy)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *stuck = cJSON_CreateArray();

    *healthy = true;
    cJSON_AddNumberToObject(o, "num_sockets", SOCKDIAG_NUM);
#if SOCKDIAG_TABLE
    struct sockdiag_slot *t = calloc(SOCKDIAG_NUM, sizeof(*t));
    int n = t ? sockdiag_table(t, SOCKDIAG_NUM) : -ENOMEM;
    cJSON *slots = cJSON_CreateArray();

    cJSON_AddStringToObject(o, "checked", n < 0 ? "failed: out of memory" : "table");
    if (n < 0)
        *healthy = false;
    for (int i = 0; i < n; i++) {
        if (t[i].conn || (t[i].select_waiting <= 0 && t[i].fd_used <= 0))
            continue;
        cJSON_AddItemToArray(stuck, cJSON_CreateNumber(t[i].fd));
        cJSON_AddItemToArray(slots, slot_json(&t[i]));
    }
    free(t);
    cJSON_AddItemToObject(o, "stuck", stuck);
    cJSON_AddItemToObject(o, "stuck_slots", slots);
    if (cJSON_GetArraySize(stuck) > 0) {
        *healthy = false;
        cJSON_AddStringToObject(o, "cause",
                                "no connection, yet select_waiting or fd_used still raised: a "
                                "select() or another thread never let go of a closed socket");
    }
#else
    struct sockdiag_probe *res = NULL;
    bool mine = false;

    pthread_mutex_lock(&worker.m);
    if (!worker.busy)
        mine = worker.busy = true;
    pthread_mutex_unlock(&worker.m);
    if (mine) {
        res = malloc(sizeof(*res));
        if (res && sockdiag_probe(res) != 0) {
            free(res);
            res = NULL;
        }
        pthread_mutex_lock(&worker.m);
        worker.busy = false;
        pthread_mutex_unlock(&worker.m);
    }
    if (!res) {
        *healthy = false;
        cJSON_AddStringToObject(o, "checked",
                                mine ? "failed: out of memory" : "busy: a socket probe is running");
        cJSON_AddItemToObject(o, "stuck", stuck);
        return o;
    }
    cJSON_AddStringToObject(o, "checked", "probe");
    for (int k = 0; k < res->nstuck; k++)
        cJSON_AddItemToArray(stuck, cJSON_CreateNumber(res->stuck[k]));
    cJSON_AddItemToObject(o, "stuck", stuck);
    cJSON_AddItemToObject(o, "unverified", fd_list(res->unverified, res->nunverified));
    if (res->nstuck > 0) {
        *healthy = false;
        cJSON_AddStringToObject(o, "cause", sockdiag_stuck_cause(res));
    }
    free(res);
#endif
    return o;
}

static void worker_main(void *unused)
{
    (void)unused;
    for (;;) {
        struct sockdiag_probe *res;
        sockdiag_probe_cb done;
        void *arg;
        int err;

        pthread_mutex_lock(&worker.m);
        while (!worker.done)
            pthread_cond_wait(&worker.cv, &worker.m);
        done = worker.done;
        arg = worker.arg;
        pthread_mutex_unlock(&worker.m);

        res = malloc(sizeof(*res));
        err = res ? sockdiag_probe(res) : -ENOMEM;
        done(arg, err ? NULL : res, err);
        free(res);

        pthread_mutex_lock(&worker.m);
        worker.done = NULL;
        worker.busy = false;
        pthread_mutex_unlock(&worker.m);
    }
}

/* Run the probe on lwipd's "sockdiag" thread (made on first use) and call
 * DONE(ARG, result, 0) there, or DONE(ARG, NULL, -errno). The result is only
 * valid during the call. Returns 0, or -EBUSY while a probe runs. */
int sockdiag_probe_async(sockdiag_probe_cb done, void *arg)
{
    pthread_mutex_lock(&worker.m);
    if (worker.busy) {
        pthread_mutex_unlock(&worker.m);
        return -EBUSY;
    }
    worker.busy = true;
    worker.done = done;
    worker.arg = arg;
    if (!worker.started) {
        worker.started = true;
        sys_thread_new("sockdiag", worker_main, NULL, 0, 0);
    }
    pthread_cond_signal(&worker.cv);
    pthread_mutex_unlock(&worker.m);
    return 0;
}
