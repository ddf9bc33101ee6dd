/* SPDX-License-Identifier: MIT */
/* Leak baseline: lwIP's pools and heap at ready, compared on demand. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct leaks_snap;

int leaks_baseline_in_tcpip(void *arg);
int leaks_snapshot_in_tcpip(void *arg);
struct leaks_snap *leaks_snap_new(void);
void leaks_snap_free(struct leaks_snap *s);
size_t leaks_snap_size(void);
bool leaks_have_baseline(void);
struct cJSON *leaks_report_json(const struct leaks_snap *now);
const char *leaks_pool_name(unsigned pool);
