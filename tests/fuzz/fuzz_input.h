/* SPDX-License-Identifier: MIT */
/* The fuzzer's bytes as a C string, for the text parsers. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of DATA (free() it), or NULL when SIZE is over MAX
 * (longer inputs only slow the fuzzer down) or memory ran out. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size, size_t max)
{
    char *text;

    if (size > max)
        return NULL;
    text = malloc(size + 1);
    if (!text)
        return NULL;
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}
