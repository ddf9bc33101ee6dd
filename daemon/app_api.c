/* SPDX-License-Identifier: MIT */
/* The functions lwipd offers its apps (include/lwipd/app.h): the netif,
 * the logger, counters, control commands and their JSON answers, threads.
 * They are exported from the lwipd executable (daemon/meson.build's
 * dynamic list), and an app's references to them are bound at dlopen(). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "lwipd/app.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/sys.h"

#include "base/log.h"
#include "base/thread.h"
#include "daemon/app_priv.h"

#define REPLY_DEPTH 8

struct lwipd_app_reply {
    cJSON *stack[REPLY_DEPTH + 1]; /* [0] the answer, [depth] the open object */
    int depth;
    char *error;
};

/* True when S is 1-31 characters of [A-Za-z0-9_] (and '-' if DASH). */
bool app_name_valid(const char *s, bool dash)
{
    size_t n = strlen(s);

    if (n == 0 || n >= APP_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || (dash && *p == '-');
        if (!ok)
            return false;
    }
    return true;
}

const char *lwipd_app_name(const struct lwipd_app *app)
{
    return app->name;
}

struct netif *lwipd_app_netif(const struct lwipd_app *app)
{
    return app->netif;
}

bool lwipd_app_stopping(const struct lwipd_app *app)
{
    return atomic_load(&((struct lwipd_app *)app)->stopping);
}

void lwipd_app_vlog(const struct lwipd_app *app, int level, const char *fmt, va_list ap)
{
    static const int levels[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    int lvl = levels[level < 0 ? 0 : level > 3 ? 3 : level];
    char line[1024];

    if (lvl > log_level_current)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    log_msg(lvl, app->name, "%s", line);
}

void lwipd_app_log(const struct lwipd_app *app, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lwipd_app_vlog(app, level, fmt, ap);
    va_end(ap);
}

struct lwipd_app_counter *lwipd_app_counter_new(struct lwipd_app *app, const char *name)
{
    int n = atomic_load(&app->ncounters);
    struct lwipd_app_counter *c;

    if (!app_name_valid(name, false) || n == LWIPD_APP_MAX_COUNTERS) {
        lwipd_app_log(app, LWIPD_APP_LOG_ERR, "counter '%s': bad name or too many counters", name);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(app->counters[i].name, name) == 0) {
            lwipd_app_log(app, LWIPD_APP_LOG_ERR, "counter '%s' exists", name);
            return NULL;
        }
    }
    c = &app->counters[n];
    snprintf(c->name, sizeof(c->name), "%s", name);
    atomic_store(&c->value, 0);
    atomic_store(&app->ncounters, n + 1); /* published: the stats see it complete */
    return c;
}

void lwipd_app_counter_add(struct lwipd_app_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void lwipd_app_counter_set(struct lwipd_app_counter *c, uint64_t v)
{
    if (c)
        atomic_store_explicit(&c->value, v, memory_order_relaxed);
}

int lwipd_app_command_add(struct lwipd_app *app, const char *name, const char *help,
                          lwipd_app_command_fn fn, void *arg)
{
    struct app_command *c;

    if (!fn || !app_name_valid(name, true) || strcmp(name, "help") == 0)
        return -EINVAL;
    for (int i = 0; i < app->ncommands; i++)
        if (strcmp(app->commands[i].name, name) == 0)
            return -EEXIST;
    if (app->ncommands == LWIPD_APP_MAX_COMMANDS)
        return -ENOSPC;
    c = &app->commands[app->ncommands];
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->help, sizeof(c->help), "%s", help ? help : "");
    c->fn = fn;
    c->arg = arg;
    app->ncommands++;
    return 0;
}

/* ---- answers ------------------------------------------------------------ */

/* A new, empty answer, or NULL on out of memory. */
struct lwipd_app_reply *app_reply_new(void)
{
    struct lwipd_app_reply *r = calloc(1, sizeof(*r));

    if (r && !(r->stack[0] = cJSON_CreateObject())) {
        free(r);
        r = NULL;
    }
    return r;
}

cJSON *app_reply_finish(struct lwipd_app_reply *r, char **error)
{
    cJSON *o = r->stack[0];

    *error = r->error;
    if (r->error) {
        cJSON_Delete(o);
        o = NULL;
    }
    free(r);
    return o;
}

static void reply_add(struct lwipd_app_reply *r, const char *key, cJSON *v)
{
    if (!v)
        return;
    if (!key || !cJSON_AddItemToObject(r->stack[r->depth], key, v))
        cJSON_Delete(v);
}

void lwipd_app_reply_int(struct lwipd_app_reply *r, const char *key, long long v)
{
    reply_add(r, key, cJSON_CreateNumber((double)v));
}

void lwipd_app_reply_double(struct lwipd_app_reply *r, const char *key, double v)
{
    reply_add(r, key, cJSON_CreateNumber(v));
}

void lwipd_app_reply_bool(struct lwipd_app_reply *r, const char *key, bool v)
{
    reply_add(r, key, cJSON_CreateBool(v));
}

void lwipd_app_reply_str(struct lwipd_app_reply *r, const char *key, const char *v)
{
    reply_add(r, key, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

void lwipd_app_reply_begin(struct lwipd_app_reply *r, const char *key)
{
    cJSON *o;

    if (r->depth == REPLY_DEPTH || !key || !(o = cJSON_CreateObject()))
        return; /* too deep: the fields land in the enclosing object */
    if (!cJSON_AddItemToObject(r->stack[r->depth], key, o)) {
        cJSON_Delete(o);
        return;
    }
    r->stack[++r->depth] = o;
}

void lwipd_app_reply_end(struct lwipd_app_reply *r)
{
    if (r->depth > 0)
        r->depth--;
}

void lwipd_app_reply_error(struct lwipd_app_reply *r, const char *fmt, ...)
{
    va_list ap;

    free(r->error);
    va_start(ap, fmt);
    if (vasprintf(&r->error, fmt, ap) < 0)
        r->error = NULL;
    va_end(ap);
    if (!r->error)
        r->error = strdup("failed");
}

/* ---- threads ------------------------------------------------------------ */

struct app_thread {
    struct lwipd_app *app;
    void (*fn)(void *arg);
    void *arg;
};

/* The app thread's body around FN: counted while it runs, so that unload
 * can wait for it, and gone from the thread registry when it returns. */
static void app_thread_main(void *p)
{
    struct app_thread t = *(struct app_thread *)p;

    free(p);
    t.fn(t.arg);
    thread_unregister_current();
    atomic_fetch_sub(&t.app->nthreads, 1);
}

int lwipd_app_thread_new(struct lwipd_app *app, const char *name, void (*fn)(void *arg), void *arg)
{
    struct app_thread *t = malloc(sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->app = app;
    t->fn = fn;
    t->arg = arg;
    atomic_fetch_add(&app->nthreads, 1);
    sys_thread_new(name, app_thread_main, t, 0, 0);
    return 0;
}
