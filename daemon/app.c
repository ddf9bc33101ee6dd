/* SPDX-License-Identifier: MIT */
/* The app loader: dlopen() the user's shared object, check its descriptor
 * against this lwipd, start it in the tcpip thread, stop and unload it.
 *
 * Design note
 * -----------
 * - An app's lwIP calls must reach lwipd's own lwIP, not a second copy:
 *   the .so is built without lwIP, its references stay undefined and
 *   dlopen(RTLD_NOW) binds them to the lwIP (and the API of app.h) that
 *   the lwipd executable exports through its dynamic list. RTLD_NOW: a
 *   function lwipd lacks is a load error, not a crash later.
 * - ABI safety: the descriptor carries the lwIP version and the fingerprint
 *   of the options it was compiled with (include/lwipd/app.h); lwipd
 *   computes its own from the same header. Unequal: refused, naming the
 *   options that differ from the table both carry.
 * - The registry is changed by the control thread only (load, unload); a
 *   mutex lets the crash reporter's stats read it from another thread.
 * - Unload: stopping is set, stop() runs in the tcpip thread, then lwipd
 *   waits (bounded) for the app's threads to return. What does not end in
 *   time stays mapped: unmapping code a thread still runs would crash.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/app.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "daemon/app_priv.h"
#include "daemon/stack.h"

#define APP_CALL_MS   5000 /* start() and stop() in the tcpip thread */
#define APP_THREAD_MS 5000 /* the app's threads returning after stop() */

static const struct lwipd_app_abi_opt own_opts[] = {LWIPD_APP_ABI_OPTIONS(LWIPD_APP_ABI_ROW_)};
#define OWN_NOPTS (sizeof(own_opts) / sizeof(own_opts[0]))

/* Names the built-in apps use in stats' "apps" object. */
static const char *const builtin_names[] = {"echo", "discard", "chargen", "lwiperf",
                                            "ping", "churn",   "iperf3"};

static struct {
    pthread_mutex_t lock; /* the list, against readers of other threads */
    struct lwipd_app *head;
    struct netif *netif;
} reg = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};

static struct lwipd_app *app_find(const char *name)
{
    for (struct lwipd_app *a = reg.head; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static void version_text(uint32_t v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xff),
             (unsigned)(v & 0xff));
}

/* Name what differs between D's options and lwipd's into ERR. */
static void describe_opt_diff(const struct lwipd_app_desc *d, char *err, size_t errlen)
{
    size_t used, ndiff = 0;

    used = (size_t)snprintf(err, errlen,
                            "'%s' was built with other lwIP options than this lwipd (rebuild it "
                            "with `pkg-config --cflags lwipd-app` of this lwipd):",
                            d->name);
    for (size_t i = 0; i < OWN_NOPTS && used < errlen; i++) {
        const struct lwipd_app_abi_opt *o = NULL;

        for (uint32_t k = 0; k < d->abi_nopts; k++)
            if (d->abi_opts[k].name && strcmp(d->abi_opts[k].name, own_opts[i].name) == 0)
                o = &d->abi_opts[k];
        if (o && o->value == own_opts[i].value)
            continue;
        ndiff++;
        if (o)
            used += (size_t)snprintf(err + used, errlen - used, " %s=%lld (lwipd: %lld)",
                                     own_opts[i].name, o->value, own_opts[i].value);
        else
            used += (size_t)snprintf(err + used, errlen - used, " %s missing (lwipd: %lld)",
                                     own_opts[i].name, own_opts[i].value);
    }
    if (ndiff == 0 && used < errlen)
        snprintf(err + used, errlen - used, " fingerprint %016" PRIx64 " (lwipd: %016" PRIx64 ")",
                 d->fingerprint, (uint64_t)LWIPD_APP_ABI_FINGERPRINT);
}

/* Check descriptor D of PATH: an app, of this API, lwIP and options, with
 * a usable name. 0, or -EINVAL/-EPROTO/-EEXIST with ERR set. */
static int desc_check(const struct lwipd_app_desc *d, const char *path, char *err, size_t errlen)
{
    char mine[16], theirs[16];

    if (d->magic != LWIPD_APP_MAGIC) {
        snprintf(err, errlen, "%s: its symbol lwipd_app is not an lwipd app descriptor", path);
        return -EINVAL;
    }
    if (d->api_version != LWIPD_APP_API_VERSION) {
        snprintf(err, errlen, "%s: built for lwipd app API %u, this lwipd has API %u", path,
                 (unsigned)d->api_version, LWIPD_APP_API_VERSION);
        return -EPROTO;
    }
    if (!d->name || !app_name_valid(d->name, true) || !d->start) {
        snprintf(err, errlen, "%s: the descriptor needs a name (1-31 of A-Z a-z 0-9 _ -) and start",
                 path);
        return -EINVAL;
    }
    if (d->lwip_version != LWIPD_APP_LWIP_VERSION) {
        version_text(d->lwip_version, theirs, sizeof(theirs));
        version_text(LWIPD_APP_LWIP_VERSION, mine, sizeof(mine));
        snprintf(err, errlen, "'%s' was built against lwIP %s, this lwipd runs lwIP %s", d->name,
                 theirs, mine);
        return -EPROTO;
    }
    if (d->fingerprint != LWIPD_APP_ABI_FINGERPRINT) {
        describe_opt_diff(d, err, errlen);
        return -EPROTO;
    }
    for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++) {
        if (strcmp(d->name, builtin_names[i]) == 0) {
            snprintf(err, errlen, "app name '%s' is taken by lwipd's own app", d->name);
            return -EEXIST;
        }
    }
    if (app_find(d->name)) {
        snprintf(err, errlen, "an app named '%s' is loaded already", d->name);
        return -EEXIST;
    }
    return 0;
}

/* Open PATH and check its descriptor; *OUT the new app, not yet listed
 * nor started. 0 or -errno (ERR set). */
static int app_open(const char *path, const char *args, struct lwipd_app **out, char *err,
                    size_t errlen)
{
    struct lwipd_app *a;
    const struct lwipd_app_desc *d;
    void *h;
    int rc;

    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
        return -ENOENT;
    }
    d = dlsym(h, "lwipd_app");
    if (!d) {
        snprintf(err, errlen, "%s: no lwipd_app symbol (made by LWIPD_APP_DEFINE)", path);
        rc = -EINVAL;
        goto err;
    }
    if ((rc = desc_check(d, path, err, errlen)) != 0)
        goto err;
    a = calloc(1, sizeof(*a));
    if (!a || !(a->path = strdup(path)) || !(a->args = strdup(args))) {
        if (a)
            free(a->path);
        free(a);
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto err;
    }
    a->desc = d;
    a->handle = h;
    snprintf(a->name, sizeof(a->name), "%s", d->name);
    *out = a;
    return 0;
err:
    dlclose(h);
    return rc;
}

struct app_arg {
    struct lwipd_app *app;
};

static int start_in_tcpip(void *p)
{
    struct lwipd_app *a = ((struct app_arg *)p)->app;

    return a->desc->start(a, a->args);
}

static int stop_in_tcpip(void *p)
{
    struct lwipd_app *a = ((struct app_arg *)p)->app;

    a->desc->stop(a);
    return 0;
}

/* Wait up to APP_THREAD_MS for A's threads to return. True when they did. */
static bool threads_ended(struct lwipd_app *a)
{
    uint64_t deadline = base_now_ns() + (uint64_t)APP_THREAD_MS * 1000000u;

    while (atomic_load(&a->nthreads) > 0 && base_now_ns() < deadline) {
        struct timespec pause = {0, 5000000};
        nanosleep(&pause, NULL);
    }
    return atomic_load(&a->nthreads) == 0;
}

/* Take A off the list (if on it) and release it: stop() first when
 * CALL_STOP, then wait for its threads. 0, or -EBUSY when stop() or a
 * thread did not return: A then stays mapped, and allocated (ERR says). */
static int app_release(struct lwipd_app *a, bool call_stop, char *err, size_t errlen)
{
    struct app_arg arg = {a};
    int rc = 0;

    pthread_mutex_lock(&reg.lock);
    for (struct lwipd_app **pp = &reg.head; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg.lock);
    atomic_store(&a->stopping, true);
    if (a->stuck) {
        snprintf(err, errlen, "'%s': its start() never returned; left loaded", a->name);
        rc = -EBUSY;
    } else if (call_stop && a->desc->stop &&
               stack_call(stop_in_tcpip, &arg, sizeof(arg), APP_CALL_MS)) {
        snprintf(err, errlen, "'%s': stop() did not return in %d ms; left loaded", a->name,
                 APP_CALL_MS);
        rc = -EBUSY;
    } else if (!threads_ended(a)) {
        snprintf(err, errlen, "'%s': %d thread(s) still running %d ms after stop(); left loaded",
                 a->name, atomic_load(&a->nthreads), APP_THREAD_MS);
        rc = -EBUSY;
    }
    if (rc) {
        log_err("app", "%s", err);
        return rc;
    }
    dlclose(a->handle);
    log_info("app", "'%s' unloaded", a->name);
    free(a->path);
    free(a->args);
    free(a);
    return 0;
}

/* Start A in the tcpip thread. 0, or -ECANCELED with ERR set: A is then
 * released (not stopped). */
static int app_start(struct lwipd_app *a, char *err, size_t errlen)
{
    struct app_arg arg = {a};
    char why[256];
    int rc;

    a->netif = reg.netif;
    rc = stack_call(start_in_tcpip, &arg, sizeof(arg), APP_CALL_MS);
    if (rc == 0) {
        a->started = true;
        log_info("app", "'%s' started (%s%s%s)", a->name, a->path, a->args[0] ? ", args " : "",
                 a->args);
        return 0;
    }
    if (rc == -ETIMEDOUT) {
        snprintf(err, errlen, "'%s': start() did not return in %d ms", a->name, APP_CALL_MS);
        a->stuck = true; /* listed, so that `app list` shows it; never unmapped */
    } else {
        snprintf(err, errlen, "'%s': start() failed: %s", a->name, strerror(rc < 0 ? -rc : rc));
    }
    log_err("app", "%s", err);
    if (!a->stuck) /* a start() still running must keep its code mapped */
        app_release(a, false, why, sizeof(why));
    return -ECANCELED;
}

/* Load the app SPEC ("PATH[:ARGS]") and list it; START: start it now (at
 * run time), otherwise app_start_loaded() does (at startup, once the
 * netif is up). 0 or -errno (see daemon/app.h) with ERR set; on error
 * nothing stays loaded. */
int app_load(const char *spec, bool start, char *err, size_t errlen)
{
    char path[4096];
    const char *colon = strchr(spec, ':');
    size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
    struct lwipd_app *a = NULL;
    int rc;

    if (plen == 0 || plen >= sizeof(path) - 2) {
        snprintf(err, errlen, "'%s' is not PATH.so[:ARGS]", spec);
        return -EINVAL;
    }
    /* A bare file name would be searched in the library path: it means ./ */
    snprintf(path, sizeof(path), "%s%.*s", memchr(spec, '/', plen) ? "" : "./", (int)plen, spec);
    rc = app_open(path, colon ? colon + 1 : "", &a, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&reg.lock);
    a->next = reg.head;
    reg.head = a;
    pthread_mutex_unlock(&reg.lock);
    log_info("app", "'%s' loaded from %s (lwIP ABI %016" PRIx64 ")", a->name, path,
             a->desc->fingerprint);
    return start ? app_start(a, err, errlen) : 0;
}

/* At startup, once the netif is up: start every app loaded and not yet
 * started, in load order. 0, or the first failure's -ECANCELED (ERR set;
 * the others still start). */
int app_start_loaded(char *err, size_t errlen)
{
    struct lwipd_app *order[64];
    int n = 0, rc = 0;

    for (struct lwipd_app *a = reg.head; a && n < 64; a = a->next)
        if (!a->started)
            order[n++] = a;
    while (n-- > 0) { /* the list is newest first */
        char why[512];

        if (app_start(order[n], why, sizeof(why)) != 0 && rc == 0) {
            snprintf(err, errlen, "%s", why);
            rc = -ECANCELED;
        }
    }
    return rc;
}

/* At startup, before lwIP runs: load and check (not start) the N --app
 * modules SPECS. 0, or the first error (logged; the others are not
 * loaded): lwipd then exits with 64. */
int app_load_startup(const char *const *specs, int n)
{
    char err[1024];

    for (int i = 0; i < n; i++) {
        int rc = app_load(specs[i], false, err, sizeof(err));

        if (rc) {
            log_err("app", "--app %s: %s", specs[i], err);
            return rc;
        }
    }
    return 0;
}

/* stack_start()'s hook once NETIF is up, before the driver runs: start the
 * loaded apps. A start() that fails is logged and lwipd goes on without
 * the app, unless *REQUIRED (bool, --app-required): then -ECANCELED. */
int app_start_hook(struct netif *netif, void *required)
{
    char err[512];

    reg.netif = netif;
    if (app_start_loaded(err, sizeof(err)) == 0 || !*(const bool *)required)
        return 0;
    log_err("app", "--app-required: %s", err);
    return -ECANCELED;
}

/* Stop and unload the app NAME. 0, -ENOENT or -EBUSY (ERR set). */
int app_unload(const char *name, char *err, size_t errlen)
{
    struct lwipd_app *a = app_find(name);

    if (!a) {
        snprintf(err, errlen, "no app named '%s' is loaded", name);
        return -ENOENT;
    }
    return app_release(a, a->started, err, errlen);
}

/* At shutdown: stop and unload every app, newest first. */
void app_unload_all(void)
{
    char err[256];

    while (reg.head)
        app_release(reg.head, reg.head->started, err, sizeof(err));
}

int app_count(void)
{
    int n = 0;

    for (struct lwipd_app *a = reg.head; a; a = a->next)
        n++;
    return n;
}

static cJSON *counters_json(struct lwipd_app *a)
{
    cJSON *o = cJSON_CreateObject();
    int n = atomic_load(&a->ncounters);

    for (int i = 0; i < n; i++)
        cJSON_AddNumberToObject(
            o, a->counters[i].name,
            (double)atomic_load_explicit(&a->counters[i].value, memory_order_relaxed));
    return o;
}

static cJSON *commands_json(struct lwipd_app *a)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "help", "this list");
    for (int i = 0; i < a->ncommands; i++)
        cJSON_AddStringToObject(o, a->commands[i].name, a->commands[i].help);
    return o;
}

/* The loaded apps, oldest first: [{"name", "path", "args", "threads",
 * "counters", "commands", "lwip", "fingerprint"}]. */
cJSON *app_list_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    char v[16], fp[24];

    for (struct lwipd_app *a = reg.head; a; a = a->next) {
        cJSON *o = cJSON_CreateObject();

        version_text(a->desc->lwip_version, v, sizeof(v));
        snprintf(fp, sizeof(fp), "%016" PRIx64, a->desc->fingerprint);
        cJSON_AddStringToObject(o, "name", a->name);
        cJSON_AddStringToObject(o, "path", a->path);
        cJSON_AddStringToObject(o, "args", a->args);
        cJSON_AddBoolToObject(o, "started", a->started);
        if (a->stuck)
            cJSON_AddBoolToObject(o, "stuck", true);
        cJSON_AddNumberToObject(o, "threads", atomic_load(&a->nthreads));
        cJSON_AddStringToObject(o, "lwip", v);
        cJSON_AddStringToObject(o, "fingerprint", fp);
        cJSON_AddItemToObject(o, "counters", counters_json(a));
        cJSON_AddItemToObject(o, "commands", commands_json(a));
        cJSON_InsertItemInArray(arr, 0, o);
    }
    return arr;
}

/* Add each app's counters to APPS (stats' "apps") under its name.
 * UNLOCKED (crash reports): skip them if the list is being changed. */
void app_stats_json(cJSON *apps, bool unlocked)
{
    if (unlocked ? pthread_mutex_trylock(&reg.lock) != 0 : pthread_mutex_lock(&reg.lock) != 0)
        return;
    for (struct lwipd_app *a = reg.head; a; a = a->next)
        cJSON_AddItemToObject(apps, a->name, counters_json(a));
    pthread_mutex_unlock(&reg.lock);
}

/* Run command ARGV[0] of app NAME (ARGC >= 1; "help" lists them) into
 * RESP's "reply". 0, or -ENOENT/-EINVAL/-ENOMEM with ERR set (the app's
 * own error message when its handler failed). */
int app_command(const char *name, int argc, char **argv, cJSON *resp, char *err, size_t errlen)
{
    struct lwipd_app *a = app_find(name);
    struct lwipd_app_reply *r;
    const struct app_command *c = NULL;
    char *error = NULL;
    cJSON *o;
    int rc;

    if (!a) {
        snprintf(err, errlen, "no app named '%s' is loaded (try \"app list\")", name);
        return -ENOENT;
    }
    if (argc < 1 || strcmp(argv[0], "help") == 0) {
        cJSON_AddItemToObject(resp, "commands", commands_json(a));
        return 0;
    }
    for (int i = 0; i < a->ncommands; i++)
        if (strcmp(a->commands[i].name, argv[0]) == 0)
            c = &a->commands[i];
    if (!c) {
        snprintf(err, errlen, "app '%s' has no command '%.64s' (try \"app %s help\")", name,
                 argv[0], name);
        return -ENOENT;
    }
    if (!(r = app_reply_new())) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = c->fn(a, argc, argv, r, c->arg);
    o = app_reply_finish(r, &error);
    if (rc != 0 || error) {
        snprintf(err, errlen, "%s: %s", name, error ? error : "the command failed");
        free(error);
        cJSON_Delete(o);
        return -EINVAL;
    }
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cJSON_AddItemToObject(resp, "reply", o);
    return 0;
}
