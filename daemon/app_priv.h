/* SPDX-License-Identifier: MIT */
/* What daemon/app.c (the loader) and daemon/app_api.c (the functions of
 * include/lwipd/app.h) share: one loaded app. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lwipd/app.h"

#define APP_NAME_MAX 32 /* names: 1-31 characters */

struct lwipd_app_counter {
    char name[APP_NAME_MAX];
    _Atomic uint64_t value;
};

struct app_command {
    char name[APP_NAME_MAX];
    char help[128];
    lwipd_app_command_fn fn;
    void *arg;
};

/* One loaded app. The registry (daemon/app.c) owns it; the API functions
 * reach it through the handle the app was given. */
struct lwipd_app {
    struct lwipd_app *next;
    const struct lwipd_app_desc *desc;
    void *handle; /* dlopen()'s */
    char name[APP_NAME_MAX];
    char *path;
    char *args;
    struct netif *netif;
    bool started;
    bool stuck; /* start() did not return in time: it may still run, never unmap */
    atomic_bool stopping;
    atomic_int nthreads; /* threads of lwipd_app_thread_new() still running */
    atomic_int ncounters;
    struct lwipd_app_counter counters[LWIPD_APP_MAX_COUNTERS];
    int ncommands;
    struct app_command commands[LWIPD_APP_MAX_COMMANDS];
};

bool app_name_valid(const char *s, bool dash);

/* app_api.c: a command's answer being written (lwipd_app_reply_*). */
struct cJSON;
struct lwipd_app_reply *app_reply_new(void);
/* Free R; returns its object (NULL on out of memory) and its error message
 * (malloc'd, NULL when none) in *ERROR. */
struct cJSON *app_reply_finish(struct lwipd_app_reply *r, char **error);
