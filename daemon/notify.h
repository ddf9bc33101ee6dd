/* SPDX-License-Identifier: MIT */
/* Readiness and status for supervisors: --ready-fd and sd_notify. */
#pragma once

void notify_ready(int ready_fd, const char *line);
void notify_status(const char *status);
void notify_stopping(void);
