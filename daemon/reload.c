/* SPDX-License-Identifier: MIT */
/* SIGHUP: what lwipd reopens, rotates and re-reads while it runs. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/reload.h"

#include <errno.h>

#include "base/events.h"
#include "base/log.h"
#include "capture/capture.h"
#include "daemon/control.h"
#include "daemon/daemon_priv.h"
#include "daemon/stats_log.h"
#include "fault_inject/fault.h"

/* SIGHUP: reopen the log, rotate the capture (the writer switches files
 * under its lock: no frame is lost) and the events log (or reopen it: see
 * events_reopen()), re-read the fault file (a bad file leaves the rules as
 * they were), make the control socket again if it was removed. */
void daemon_reload(struct daemon *d)
{
    const struct args *a = d->args;

    log_info("daemon", "SIGHUP: reopening log, capture and events, re-reading the fault file");
    if (a->log_file && log_open_file(a->log_file) != 0)
        log_err("daemon", "cannot reopen %s", a->log_file);
    if (d->control)
        control_check_socket(d->control);
    if (d->capture && capture_running(d->capture)) {
        if (capture_rotate(d->capture) != 0)
            log_err("daemon", "capture rotation failed");
        else
            events_emit("capture", "\"op\":\"rotate\",\"by\":\"SIGHUP\"");
    }
    stats_log_reopen(d->stats_log);
    if (a->events && events_reopen() != 0)
        log_err("daemon", "cannot reopen %s", a->events);
    if (a->fault_file) {
        struct fault *check = fault_new(d->seed);
        char err[512];
        int n = check ? fault_load_file(check, a->fault_file, err, sizeof(err)) : -ENOMEM;

        fault_free(check);
        if (n < 0) {
            log_err("daemon", "--fault-file: %s; keeping the rules in force",
                    check ? err : "out of memory");
        } else {
            fault_clear(d->fault); /* back to --fault plus the file */
            for (int i = 0; i < a->nfaults; i++)
                fault_add(d->fault, a->faults[i], err, sizeof(err)); /* checked at start */
            n = fault_load_file(d->fault, a->fault_file, err, sizeof(err));
            if (n < 0)
                log_err("daemon", "--fault-file: %s", err);
            else
                log_info("daemon", "--fault-file %s: %d rule(s) in force", a->fault_file, n);
        }
    }
}
