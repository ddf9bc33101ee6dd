/* SPDX-License-Identifier: MIT */
/* lwipd: the real lwIP TCP/IP stack on a Linux TAP interface. */
#include "lwipd_config.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "daemon/args.h"
#include "daemon/daemon.h"
#include "crash/fatal.h"
#include "base/log.h"

static void libevent_log(int severity, const char *msg)
{
    switch (severity) {
    case EVENT_LOG_ERR:
        log_err("libevent", "%s", msg);
        break;
    case EVENT_LOG_WARN:
        log_warn("libevent", "%s", msg);
        break;
    default:
        log_debug("libevent", "%s", msg);
        break;
    }
}

int main(int argc, char **argv)
{
    struct args a;

    int rc;

    args_init(&a);
    switch (args_parse(&a, argc, argv)) {
    case ARGS_OK:
        break;
    case ARGS_EXIT:
        args_free(&a);
        return LWIPD_EXIT_OK;
    case ARGS_USAGE:
        args_free(&a);
        return LWIPD_EXIT_USAGE;
    }
    if (a.check_config) {
        rc = daemon_check_config(&a, stdout);
        args_free(&a);
        return rc;
    }
    log_init("lwipd", a.log_level);
    if (a.log_file) {
        int err = log_open_file(a.log_file);
        if (err) {
            log_err("main", "--log-file %s: %s", a.log_file, strerror(-err));
            args_free(&a);
            return LWIPD_EXIT_CANTCREAT;
        }
    }
    event_set_log_callback(libevent_log);
    fatal_init();
    rc = daemon_run(&a);
    args_free(&a);
    return rc;
}
