/* SPDX-License-Identifier: MIT */
/* Unit tests for the control request parser and dispatcher: every malformed
 * request becomes an error response, "id" is echoed, unknown commands are
 * named. (Commands that need a running stack are covered by the integration
 * tests.) */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/commands.h"

static cJSON *handle(const char *line)
{
    char *out = commands_handle(NULL, NULL, line, strlen(line));
    cJSON *resp;

    assert_non_null(out);
    resp = cJSON_Parse(out);
    free(out);
    assert_true(cJSON_IsObject(resp));
    return resp;
}

static void expect_error(const char *line, const char *fragment)
{
    cJSON *r = handle(line);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");

    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_true(cJSON_IsString(err));
    if (!strstr(err->valuestring, fragment))
        fail_msg("'%s': error '%s' lacks '%s'", line, err->valuestring, fragment);
    cJSON_Delete(r);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    expect_error("", "not valid JSON");
    expect_error("{", "not valid JSON");
    expect_error("\x01\xff\xfe", "not valid JSON");
    expect_error("[]", "JSON object");
    expect_error("\"status\"", "JSON object");
    expect_error("null", "JSON object");
    expect_error("{}", "string \"cmd\"");
    expect_error("{\"cmd\": 3}", "string \"cmd\"");
    expect_error("{\"cmd\": \"\"}", "string \"cmd\"");
    expect_error("{\"cmd\": \"nope\"}", "unknown command 'nope'");
    expect_error("{\"cmd\": \"status\"} trailing", "not valid JSON");
}

static void test_id_echoed_and_help(void **state)
{
    cJSON *r = handle("{\"cmd\":\"help\",\"id\":[1,\"x\"]}\r");
    const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(r, "commands");

    (void)state;
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r, "id")));
    for (const char *c = "status\0stats\0link\0shutdown\0version\0"; *c; c += strlen(c) + 1)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(cmds, c));
    cJSON_Delete(r);
    r = handle("{\"cmd\":\"nope\",\"id\":7}");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valueint, 7);
    cJSON_Delete(r);
}

static void test_parse_accepts_crlf(void **state)
{
    char err[128];
    cJSON *req = commands_parse("{\"cmd\":\"status\"}\r", 17, err, sizeof(err));

    (void)state;
    assert_non_null(req);
    cJSON_Delete(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_id_echoed_and_help),
        cmocka_unit_test(test_parse_accepts_crlf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
