/* SPDX-License-Identifier: MIT */
/* Control commands: the request parser, the command table, the readers of
 * request fields, deferred answers and the dispatcher. The handlers live in
 * daemon/commands/, one file per area. Each fills the response object and
 * returns 0, or returns -errno with a message; the response always carries
 * "ok". */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash/fatal.h"
#include "daemon/args.h"
#include "daemon/commands/cmd.h"
#include "daemon/commands_priv.h"
#include "daemon/control.h"
#include "daemon/daemon_priv.h"

struct command {
    const char *name;
    const char *help;
    commands_handler_fn fn;
    bool needs_test_hooks; /* refused unless lwipd runs with --test-hooks */
};

static int commands_help(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                         size_t errlen);

static const struct command commands[] = {
    {"app",
     "your apps: \"argv\": [\"load\", \"PATH[:ARGS]\"], [\"unload\", NAME], [\"list\"], "
     "[NAME, CMD, ...] (the app's command)",
     cmd_app, false},
    {"capture",
     "\"op\": start [\"path\": a file name in the capture directory], stop, rotate, mark "
     "\"text\"",
     cmd_capture, false},
    {"events",
     "the recent events (\"count\", 100); \"follow\":true streams new ones (\"since\": SEQ, "
     "\"count\": N to stop after N)",
     cmd_events, false},
    {"fault", "\"op\": add \"rule\", list, del \"rule_id\", clear", cmd_fault, false},
    {"help", "list the commands", commands_help, false},
    {"igmp", "\"op\": join \"group\", leave \"group\", list (lwIP's multicast groups)", cmd_igmp,
     false},
    {"iperf3",
     "lwIP's iperf3 client against \"host\" (\"port\", \"time\", \"reverse\", \"bidir\", "
     "\"parallel\", \"udp\", \"bandwidth\", \"len\", \"omit\", \"bytes\", \"blocks\", "
     "\"nodelay\", \"tos\", \"get_server_output\", \"udp_counters_64bit\")",
     cmd_iperf3, false},
    {"leaks", "lwIP pools and heap against the baseline taken at ready (\"reset\": take it again)",
     cmd_diag_leaks, false},
    {"link", "link state; with \"state\":\"up\"|\"down\" plug or pull the cable", cmd_link, false},
    {"ping", "lwIP pings \"host\" (\"count\", \"interval_ms\", \"timeout_ms\")", cmd_ping, false},
    {"shutdown", "stop lwipd (exit 0)", cmd_shutdown, false},
    {"sockets", "lwIP's socket table; \"probe\":true finds stuck slots (run it when idle)",
     cmd_diag_sockets, false},
    {"stats", "every counter: lwIP, driver, IRQs, apps, capture", cmd_stats, false},
    {"status", "addresses, link, modes, uptime, build", cmd_info_status, false},
    {"test-isr-post",
     "--test-hooks: the next TX-complete ISR posts with tcpip_callback() (may block)",
     cmd_testhooks_isr_post, true},
    {"test-stall", "--test-hooks: block the tcpip thread for \"ms\" (1000), as a wedged stack",
     cmd_testhooks_stall, true},
    {"test-wrong-free", "--test-hooks: free a pbuf chain from its 2nd element (leaks its head)",
     cmd_testhooks_wrong_free, true},
    {"version", "lwipd and lwIP versions, heap, key lwIP options", cmd_info_version, false},
};

static int commands_help(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err,
                         size_t errlen)
{
    cJSON *o = cJSON_CreateObject();

    (void)ctx, (void)req, (void)err, (void)errlen;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        cJSON_AddStringToObject(o, commands[i].name, commands[i].help);
    cJSON_AddItemToObject(resp, "commands", o);
    return 0;
}

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* The string field NAME of REQ, or NULL when it is missing or not a string. */
const char *commands_str_field(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Read an optional integer field NAME within [MIN, MAX] (default DEF) into
 * *OUT. 0, or -EINVAL with ERR naming the field and the range. */
int commands_int_field(const cJSON *req, const char *name, long min, long max, long def, long *out,
                       char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        snprintf(err, errlen, "\"%s\" must be an integer from %ld to %ld", name, min, max);
        return -EINVAL;
    }
    *out = (long)v->valuedouble;
    return 0;
}

/* Read an optional boolean field NAME (default false) into *OUT. 0, or
 * -EINVAL with ERR set. */
int commands_bool_field(const cJSON *req, const char *name, bool *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = false;
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        snprintf(err, errlen, "\"%s\" must be true or false", name);
        return -EINVAL;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* Parse one request line. Returns the object, or NULL with ERR set. */
cJSON *commands_parse(const char *line, size_t len, char *err, size_t errlen)
{
    cJSON *req;
    const cJSON *cmd;
    const char *end = NULL;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    req = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (req) {
        /* cJSON stops after the first value: anything but blanks after it
         * makes the line invalid. */
        for (; end < line + len; end++) {
            if (*end != ' ' && *end != '\t')
                break;
        }
        if (end < line + len) {
            cJSON_Delete(req);
            req = NULL;
        }
    }
    if (!req) {
        snprintf(err, errlen, "request is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(req)) {
        snprintf(err, errlen, "request must be a JSON object");
        goto bad;
    }
    cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
    if (!cJSON_IsString(cmd) || !cmd->valuestring[0]) {
        snprintf(err, errlen, "request needs a string \"cmd\"");
        goto bad;
    }
    return req;
bad:
    cJSON_Delete(req);
    return NULL;
}

/* A deferred command's handle: the promised reply and the request id. */
struct commands_deferred {
    struct control_reply *reply;
    cJSON *id;
};

/* From a command: promise the answer for later. Returns NULL when the
 * request cannot be deferred (then answer at once with an error). */
struct commands_deferred *commands_defer(struct commands_ctx *ctx)
{
    struct commands_deferred *dd = calloc(1, sizeof(*dd));

    if (!dd)
        return NULL;
    dd->reply = control_defer(ctx->creq);
    if (!dd->reply) {
        free(dd);
        return NULL;
    }
    dd->id = ctx->id ? cJSON_Duplicate(ctx->id, 1) : NULL;
    return dd;
}

/* Complete a deferred command, from any thread: FIELDS (consumed, may be
 * NULL) go into the response; ERROR non-NULL makes it a failure. */
void commands_finish(struct commands_deferred *dd, cJSON *fields, const char *error)
{
    unsigned long failed = fatal_alloc_failures();
    cJSON *resp = cJSON_CreateObject();
    char *out = NULL;

    if (resp) {
        cJSON_AddBoolToObject(resp, "ok", error == NULL);
        cJSON_AddNumberToObject(resp, "api", CONTROL_API);
        if (dd->id) {
            cJSON_AddItemToObject(resp, "id", dd->id);
            dd->id = NULL;
        }
        if (fields) {
            while (fields->child) {
                cJSON *item = cJSON_DetachItemViaPointer(fields, fields->child);
                cJSON_AddItemToObject(resp, item->string, item);
            }
        }
        if (error)
            cJSON_AddStringToObject(resp, "error", error);
        out = cJSON_PrintUnformatted(resp);
        cJSON_Delete(resp);
    }
    cJSON_Delete(fields);
    cJSON_Delete(dd->id);
    if (fatal_alloc_failures() != failed) { /* NULL: the transport says out of memory */
        free(out);
        out = NULL;
    }
    control_reply_send(dd->reply, out);
    free(dd);
}

/* A line of progress of a deferred command, before its answer, from any
 * thread: {"api", "id", FIELDS...} (FIELDS consumed). Returns -1 when the
 * client has gone: stop producing and finish. */
int commands_progress(struct commands_deferred *dd, cJSON *fields)
{
    unsigned long failed = fatal_alloc_failures();
    cJSON *line = cJSON_CreateObject();
    char *out = NULL;

    if (line) {
        cJSON_AddNumberToObject(line, "api", CONTROL_API);
        if (dd->id)
            cJSON_AddItemToObject(line, "id", cJSON_Duplicate(dd->id, 1));
        while (fields && fields->child) {
            cJSON *item = cJSON_DetachItemViaPointer(fields, fields->child);
            cJSON_AddItemToObject(line, item->string, item);
        }
        out = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
    }
    cJSON_Delete(fields);
    if (fatal_alloc_failures() != failed) { /* a part is missing: the line is dropped */
        free(out);
        out = NULL;
    }
    return control_reply_progress(dd->reply, out);
}

/* True when the client of a deferred command has gone (a streaming
 * command polls this while it has nothing to send): finish it then. */
bool commands_client_gone(struct commands_deferred *dd)
{
    return control_reply_progress(dd->reply, NULL) < 0;
}

/* At shutdown, once the event loop has stopped: answer every streaming
 * command still running. Returns how many were answered (their answers wait
 * for one more turn of the loop to reach the control socket). */
int commands_stop(void)
{
    return cmd_events_stop_all();
}

/* The control handler: one request line in, one response line out (or none
 * yet, for a deferred command). */
char *commands_handle(void *arg, struct control_req *creq, const char *line, size_t len)
{
    struct commands_ctx ctx = {.d = arg, .creq = creq};
    char err[256] = "";
    unsigned long failed = fatal_alloc_failures();
    cJSON *req = commands_parse(line, len, err, sizeof(err));
    cJSON *resp = cJSON_CreateObject();
    const struct command *c;
    char *out;
    int ok = 0;

    if (!resp) {
        cJSON_Delete(req);
        return NULL;
    }
    ctx.id = req ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
    cJSON_AddBoolToObject(resp, "ok", 0);
    cJSON_AddNumberToObject(resp, "api", CONTROL_API);
    if (ctx.id)
        cJSON_AddItemToObject(resp, "id", cJSON_Duplicate(ctx.id, 1));
    if (req) {
        const char *name = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;

        c = command_find(name);
        if (!c) {
            snprintf(err, sizeof(err), "unknown command '%.64s' (try \"help\")", name);
        } else if (c->needs_test_hooks && !ctx.d->args->test_hooks) {
            snprintf(err, sizeof(err), "test hooks are off (start lwipd with --test-hooks)");
        } else {
            int r = c->fn(&ctx, req, resp, err, sizeof(err));

            if (r == COMMANDS_DEFERRED) {
                cJSON_Delete(resp);
                cJSON_Delete(req);
                return NULL;
            }
            ok = r == 0;
        }
    }
    cJSON_ReplaceItemInObject(resp, "ok", cJSON_CreateBool(ok));
    if (!ok)
        cJSON_AddStringToObject(resp, "error", err[0] ? err : "failed");
    out = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    cJSON_Delete(req);
    if (fatal_alloc_failures() != failed) { /* a part is missing: no half answers */
        free(out);
        return NULL; /* the transport answers "out of memory" */
    }
    return out;
}
