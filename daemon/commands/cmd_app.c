/* SPDX-License-Identifier: MIT */
/* Control command "app": {"argv": [...]} with load PATH[:ARGS], unload
 * NAME, list, or NAME CMD ARGS... (the app's own command). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/commands/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/app.h"
#include "daemon/commands_priv.h"

#define APP_MAX_ARGS 32

int cmd_app(struct commands_ctx *ctx, const cJSON *req, cJSON *resp, char *err, size_t errlen)
{
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(req, "argv");
    char *argv[APP_MAX_ARGS];
    const cJSON *w;
    int argc = 0, rc;

    (void)ctx;
    if (!cJSON_IsArray(av) || cJSON_GetArraySize(av) < 1) {
        snprintf(err, errlen,
                 "\"argv\" must be a non-empty array of strings: load PATH[:ARGS], "
                 "unload NAME, list, or NAME CMD ...");
        return -EINVAL;
    }
    cJSON_ArrayForEach(w, av)
    {
        if (!cJSON_IsString(w) || argc == APP_MAX_ARGS) {
            snprintf(err, errlen, "\"argv\" must be at most %d strings", APP_MAX_ARGS);
            return -EINVAL;
        }
        argv[argc++] = w->valuestring;
    }
    if (strcmp(argv[0], "list") == 0 && argc == 1) {
        cJSON_AddItemToObject(resp, "apps", app_list_json());
        return 0;
    }
    if (strcmp(argv[0], "load") == 0 && argc == 2) {
        rc = app_load(argv[1], true, err, errlen);
        if (rc == 0)
            cJSON_AddItemToObject(resp, "apps", app_list_json());
        return rc;
    }
    if (strcmp(argv[0], "unload") == 0 && argc == 2)
        return app_unload(argv[1], err, errlen);
    if (strcmp(argv[0], "load") == 0 || strcmp(argv[0], "unload") == 0 ||
        strcmp(argv[0], "list") == 0) {
        snprintf(err, errlen, "usage: app load PATH[:ARGS] | unload NAME | list | NAME CMD ...");
        return -EINVAL;
    }
    return app_command(argv[0], argc - 1, argv + 1, resp, err, errlen);
}
