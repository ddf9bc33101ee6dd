/* SPDX-License-Identifier: MIT */
/* The app loader: the user's shared objects (--app, `lwipctl app`) loaded
 * into lwipd, checked against lwipd's lwIP ABI, started in the tcpip thread
 * and stopped at unload or shutdown. The API they call is
 * include/lwipd/app.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct netif;

/* app_load()'s errors, beyond -ENOMEM:
 *   -ENOENT    the file cannot be loaded (dlopen's reason in ERR)
 *   -EINVAL    not an lwipd app, or a bad name / spec
 *   -EPROTO    built for another API version, lwIP version or lwIP options
 *   -EEXIST    an app of that name is loaded
 *   -ECANCELED its start() failed (it is unloaded again) */

int app_load_startup(const char *const *specs, int n);
int app_start_hook(struct netif *netif, void *required);
int app_load(const char *spec, bool start, char *err, size_t errlen);
int app_start_loaded(char *err, size_t errlen);
int app_unload(const char *name, char *err, size_t errlen);
void app_unload_all(void);
int app_count(void);
struct cJSON *app_list_json(void);
void app_stats_json(struct cJSON *apps, bool unlocked);
int app_command(const char *name, int argc, char **argv, struct cJSON *resp, char *err,
                size_t errlen);
