/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the fault-rule parser (fault_rule_parse), on one rule
 * of any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fault_inject/rule.h"
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fault_rule r;
    char err[256] = "";
    char *text;

    text = fuzz_cstr(data, size, 4096);
    if (!text)
        return 0;
    memset(&r, 0, sizeof(r));
    if (fault_rule_parse(text, &r, err, sizeof(err)) == 0) {
        /* a parsed rule is self-consistent */
        if (r.p < 0 || r.p > 1 || strlen(r.text) >= sizeof(r.text))
            __builtin_trap();
        fault_rule_release(&r);
    } else if (!err[0]) {
        __builtin_trap();
    }
    free(text);
    return 0;
}
