/* SPDX-License-Identifier: MIT */
/* Every counter lwipd has, as one JSON document: lwIP's stats (each memp
 * pool by name), the driver, the IRQ controller, the apps, the capture. */
#pragma once

struct cJSON;
struct daemon;
struct churn_errcount;

struct cJSON *stats_json(struct daemon *d);
struct cJSON *stats_json_ex(struct daemon *d, int unlocked);
struct fault;
struct cJSON *stats_fault_rules_json(struct fault *f);
struct cJSON *stats_errno_json(const struct churn_errcount *tab, int n);
