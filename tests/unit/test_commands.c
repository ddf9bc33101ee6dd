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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/args.h"
#include "daemon/commands.h"
#include "daemon/daemon_priv.h"

static cJSON *handle_with(struct daemon *d, const char *line)
{
    char *out = commands_handle(d, NULL, line, strlen(line));
    cJSON *resp;

    assert_non_null(out);
    resp = cJSON_Parse(out);
    free(out);
    assert_true(cJSON_IsObject(resp));
    return resp;
}

static cJSON *handle(const char *line)
{
    return handle_with(NULL, line);
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

/* The commands that damage the stack are refused, by the dispatcher, unless
 * lwipd runs with --test-hooks; none of them reaches the stack here. */
static void test_test_hooks_refused_when_off(void **state)
{
    struct args a;
    struct daemon d = {.args = &a};

    (void)state;
    args_init(&a);
    for (const char *c = "test-isr-post\0test-stall\0test-wrong-free\0"; *c; c += strlen(c) + 1) {
        char line[64];
        cJSON *r;
        const cJSON *err;

        snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", c);
        r = handle_with(&d, line);
        err = cJSON_GetObjectItemCaseSensitive(r, "error");
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "ok")));
        assert_true(cJSON_IsString(err));
        assert_non_null(strstr(err->valuestring, "test hooks are off"));
        cJSON_Delete(r);
    }
    args_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_id_echoed_and_help),
        cmocka_unit_test(test_parse_accepts_crlf),
        cmocka_unit_test(test_test_hooks_refused_when_off),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
