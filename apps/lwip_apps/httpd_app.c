/* SPDX-License-Identifier: MIT */
/* lwIP's httpd on TCP 80, serving the tree's default fsdata (index.html,
 * 404.html, img/sics.gif; fs/ in the lwIP tree, compiled in by its fs.c).
 *
 * lwIP's httpd keeps no counters. It asks fs_open_custom() (enabled by
 * LWIP_HTTPD_CUSTOM_FILES in port/opts/apps.h) for every file before its
 * own fsdata, so that hook counts the files requests open and remembers the
 * last one, then declines: a missing page shows as the open of /404.html
 * that follows. */
#include "lwipd_config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lwip/apps/fs.h"
#include "lwip/apps/httpd.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

#if !LWIP_HTTPD_CUSTOM_FILES
#error "the httpd glue needs LWIP_HTTPD_CUSTOM_FILES 1 (port/opts/apps.h)"
#endif

/* lwIP 2.0's fs.h does not declare the custom-file hooks (fs.c does). */
int fs_open_custom(struct fs_file *file, const char *name);
void fs_close_custom(struct fs_file *file);

/* Written in the tcpip thread; read racily by the control thread. */
static struct {
    int started;
    uint64_t opens;
    char last_path[64];
} httpd;

/* lwIP's hook, in the tcpip thread: count NAME's open, serve nothing (0),
 * so that lwIP looks in its own fsdata. */
int fs_open_custom(struct fs_file *file, const char *name)
{
    (void)file;
    httpd.opens++;
    snprintf(httpd.last_path, sizeof(httpd.last_path), "%s", name ? name : "");
    return 0;
}

/* Never called: fs_open_custom() opens no file. */
void fs_close_custom(struct fs_file *file)
{
    (void)file;
}

/* Start lwIP's httpd (tcpip thread). lwIP says nothing when it cannot
 * listen (its LWIP_ASSERT aside), so 0 always. */
int httpd_app_start(void)
{
    httpd_init();
    httpd.started = 1;
    log_info("httpd", "lwIP httpd on TCP port %d (default fsdata)", HTTPD_SERVER_PORT);
    return 0;
}

void httpd_app_json(cJSON *o)
{
    cJSON_AddBoolToObject(o, "running", httpd.started);
    cJSON_AddNumberToObject(o, "port", HTTPD_SERVER_PORT);
    cJSON_AddNumberToObject(o, "file_opens", (double)httpd.opens);
    cJSON_AddStringToObject(o, "last_path", httpd.last_path);
}
