/* SPDX-License-Identifier: MIT */
/* The daemon's sections of crash reports (crash/crash_report.c). */
#pragma once

#include <sys/types.h>

#include "crash/crash_report.h" /* crash_report_path() */

struct daemon;

int crash_init(struct daemon *d, pid_t control_thread);
