/* SPDX-License-Identifier: MIT */
/* What the daemon opens at start: TAP, control socket, report directory,
 * and the drop of privileges after them. Each returns 0 or an LWIPD_EXIT_*
 * code after logging why. */
#pragma once

struct daemon;

int daemon_open_tap(struct daemon *d);
int daemon_open_control(struct daemon *d);
int daemon_open_drop_privileges(struct daemon *d);
void daemon_open_report_dir(struct daemon *d);
int daemon_open_capture_dir(struct daemon *d);
