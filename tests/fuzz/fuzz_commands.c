/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the control socket's request parser (commands_parse),
 * on one request line of any bytes. */
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "daemon/commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cJSON *req = commands_parse((const char *)data, size, err, sizeof(err));

    if (req) {
        /* what commands_handle() relies on after a successful parse */
        const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
        if (!cJSON_IsString(cmd) || !cmd->valuestring[0])
            __builtin_trap();
        cJSON_Delete(req);
    } else if (!err[0]) {
        __builtin_trap(); /* every refusal says why */
    }
    return 0;
}
