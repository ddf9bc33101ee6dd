/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the config file parser (inih plus every option's
 * setter), on a whole file of any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/args.h"
#include "daemon/config.h"
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct args a;
    char err[512] = "";
    char *text;

    text = fuzz_cstr(data, size, 65536);
    if (!text)
        return 0;
    args_init(&a);
    if (config_parse_string(text, args_config_set, &a, err, sizeof(err)) != 0 && !err[0])
        __builtin_trap(); /* every refusal says why */
    args_free(&a);
    free(text);
    return 0;
}
