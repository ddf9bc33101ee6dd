/* SPDX-License-Identifier: MIT */
/* Crash reports (the writer behind port/fatal.c). */
#pragma once

#include <sys/types.h>

struct daemon;

void crash_init(struct daemon *d, pid_t control_thread);
const char *crash_report_path(void);
