/* SPDX-License-Identifier: MIT */
/* Readiness: one line to --ready-fd (test harnesses, scripts) and READY=1 to
 * systemd when NOTIFY_SOCKET is set (sd_notify() does nothing otherwise). */
#include "lwipd_config.h"
#include "daemon/notify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "base/log.h"

/* Write LINE (plus newline) to READY_FD and close it, then tell systemd. */
void notify_ready(int ready_fd, const char *line)
{
    if (ready_fd >= 0) {
        char buf[512];
        int n = snprintf(buf, sizeof(buf), "%s\n", line);
        if (write(ready_fd, buf, (size_t)n) != n)
            log_warn("notify", "--ready-fd %d: %s", ready_fd, strerror(errno));
        close(ready_fd);
    }
    sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", line, (int)getpid());
}

void notify_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status);
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}
