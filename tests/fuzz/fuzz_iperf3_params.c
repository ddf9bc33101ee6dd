/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the iperf3 parameter parser (iperf3_params_parse), on
 * the JSON body a client sends. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "apps/iperf3/iperf3_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iperf3_params p;
    char err[256] = "";

    if (iperf3_params_parse((const char *)data, size, &p, err, sizeof(err)) == 0) {
        /* what the server relies on */
        if (p.parallel < 1 || p.parallel > IPERF3_MAX_PARALLEL)
            __builtin_trap();
        char *s = iperf3_params_format(&p);
        free(s);
    } else if (!err[0]) {
        __builtin_trap();
    }
    return 0;
}
