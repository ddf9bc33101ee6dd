/* SPDX-License-Identifier: MIT */
/* The text form of a crash report (lwipd-crash-*.txt), rendered from the
 * JSON report; used by lwipd's report writer and by `lwipctl report`.
 * Depends on cJSON and libc only. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

char *crash_text_render(const cJSON *report);
int crash_text_path(const char *json_path, char *out, size_t len);
