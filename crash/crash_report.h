/* SPDX-License-Identifier: MIT */
/* Crash reports: one JSON file per incident, written by the fatal reporter
 * (crash/fatal.c). The writer knows incidents, stacks, ISR rules and the
 * events bus; what else a program wants in the report (its configuration,
 * statistics, a capture flushed beside it) it adds as sections. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "crash/fatal.h"

/* One member of the report: KEY's value, built by FN(ARG, incident) in the
 * reporter thread while the other threads are frozen, so it must take no
 * lock another thread may hold (cJSON allocates from fatal_alloc()).
 * Returns the value, or NULL to leave the member out. */
typedef cJSON *(*crash_report_section_cb)(void *arg, const struct fatal_incident *inc);

struct crash_report_section {
    const char *key;
    crash_report_section_cb fn;
    /* Built first, before the "fatal" event is recorded and the events log
     * flushed (a capture flush): what it finds is the moment of the
     * incident. Members still appear in the order of the table. */
    bool early;
};

struct crash_report_config {
    const char *dir; /* reports go to DIR/lwipd-crash-<UTC stamp>-<pid>.json and .txt */
    const struct crash_report_section *sections; /* lives as long as the process */
    size_t nsections;
    void *arg; /* every section's first argument */
    enum fatal_action action;
    pid_t keep_running; /* never frozen under FATAL_HOLD (the control loop) */
};

#define CRASH_REPORT_MAX_SECTIONS 16

int crash_report_init(const struct crash_report_config *cfg);
void crash_report_stop(void);
const char *crash_report_path(void);
