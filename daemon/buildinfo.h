/* SPDX-License-Identifier: MIT */
/* What this lwipd binary is: versions, heap backend, key lwIP options. */
#pragma once

#include <stdio.h>

struct cJSON;

const char *buildinfo_lwip_version(void);
const char *buildinfo_heap(void);
void buildinfo_print(FILE *out);
struct cJSON *buildinfo_json(void);
