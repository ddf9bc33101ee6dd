/* SPDX-License-Identifier: MIT */
/* lwipctl's human-readable renderers: the daemon's JSON responses printed
 * for a person on stdout (--json prints the JSON itself). */
#pragma once

#include <cjson/cJSON.h>

void lwipctl_render_human(const cJSON *resp);
void lwipctl_render_help(const cJSON *resp);
void lwipctl_render_sockets_used(cJSON *resp);
