/* SPDX-License-Identifier: MIT */
/* SIGHUP's work (daemon/reload.c). */
#pragma once

struct daemon;

void daemon_reload(struct daemon *d);
