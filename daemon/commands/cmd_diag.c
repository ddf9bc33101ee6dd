/* SPDX-License-Identifier: MIT */
/* Control commands "sockets" and "leaks": lwIP's socket table, the stuck-slot
 * probe, and pools and heap against the baseline. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apps/churn.h"
#include "daemon/commands_priv.h"
#include "daemon/stack.h"
#include "diag/leaks.h"
#include "diag/sockdiag.h"

static void sockets_fields(cJSON *o)
{
    cJSON_AddNumberToObject(o, "num_sockets", sockdiag_num_sockets());
    cJSON_AddNumberToObject(o, "offset", sockdiag_offset());
    cJSON_AddItemToObject(o, "table", sockdiag_table_json());
}

/* The sockdiag thread, when the probe is done. */
static void probe_done(void *arg, const struct sockdiag_probe *res, int err)
{
    cJSON *f, *p, *slots;

    if (err) {
        commands_finish(arg, NULL, strerror(-err));
        return;
    }
    f = cJSON_CreateObject();
    sockets_fields(f);
    p = sockdiag_probe_json(res);
    /* The churn server's record of each stuck slot: how often it closed it
     * while its selector was inside lwip_select() on it. */
    slots = cJSON_GetObjectItemCaseSensitive(p, "stuck_slots");
    if (cJSON_GetArraySize(slots) == 0) {
        for (int k = 0; k < res->nstuck; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "fd", res->stuck[k]);
            cJSON_AddItemToArray(slots, e);
        }
    }
    for (cJSON *e = slots ? slots->child : NULL; e; e = e->next) {
        int fd = cJSON_GetObjectItemCaseSensitive(e, "fd")->valueint;
        cJSON_AddNumberToObject(e, "churn_closes_during_select",
                                (double)churn_slot_closes_during_select(fd));
    }
    cJSON_AddItemToObject(f, "probe", p);
    commands_finish(arg, f, NULL);
}

int cmd_diag_sockets(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                     size_t errlen)
{
    struct commands_deferred *dd;
    bool probe;
    int r;

    if (commands_bool_field(req, "probe", &probe, err, errlen))
        return -EINVAL;
    if (!probe) {
        sockets_fields(resp);
        return 0;
    }
    dd = commands_defer(ctx);
    if (!dd) {
        snprintf(err, errlen, "sockets: cannot answer later on this connection");
        return -EINVAL;
    }
    r = sockdiag_probe_async(probe_done, dd);
    if (r)
        commands_finish(dd, NULL, r == -EBUSY ? "sockets: a probe is running" : strerror(-r));
    return COMMANDS_DEFERRED;
}

int cmd_diag_leaks(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                   size_t errlen)
{
    struct leaks_snap *snap = leaks_snap_new();
    cJSON *rep;
    bool reset;
    int r;

    (void)ctx;
    if (!snap || commands_bool_field(req, "reset", &reset, err, errlen)) {
        if (!snap)
            snprintf(err, errlen, "out of memory");
        leaks_snap_free(snap);
        return snap ? -EINVAL : -ENOMEM;
    }
    r = reset ? stack_call(leaks_baseline_in_tcpip, NULL, 0, COMMANDS_STACK_TIMEOUT_MS) : 0;
    if (r == 0)
        r = stack_call(leaks_snapshot_in_tcpip, snap, leaks_snap_size(), COMMANDS_STACK_TIMEOUT_MS);
    if (r) {
        snprintf(err, errlen, "leaks: %s",
                 r == -ETIMEDOUT ? "tcpip thread did not answer" : strerror(-r));
        leaks_snap_free(snap);
        return r;
    }
    rep = leaks_report_json(snap);
    leaks_snap_free(snap);
    if (!rep) {
        snprintf(err, errlen, "leaks: no baseline (it is taken when lwipd is ready)");
        return -ENOENT;
    }
    while (rep->child) {
        cJSON *item = cJSON_DetachItemViaPointer(rep, rep->child);
        cJSON_AddItemToObject(resp, item->string, item);
    }
    cJSON_Delete(rep);
    return 0;
}
