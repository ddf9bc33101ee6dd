/* SPDX-License-Identifier: MIT */
/* Unit tests for daemon/args.c: defaults, every kind of value, usage errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "lwipd_config.h"

#include "daemon/args.h"
#include "daemon/config.h"

static enum args_result parse(struct args *a, const char *const *argv)
{
    char *v[32];
    int n = 0;

    v[n++] = (char *)"lwipd";
    for (; *argv; argv++)
        v[n++] = (char *)*argv;
    v[n] = NULL;
    args_init(a);
    return args_parse(a, n, v);
}

static void test_defaults_and_ip(void **state)
{
    struct args a;
    const char *argv[] = {"--tap", "tap0", "--ip", "198.18.0.2/24", NULL};

    (void)state;
    assert_int_equal(parse(&a, argv), ARGS_OK);
    assert_string_equal(a.tap, "tap0");
    assert_int_equal(a.ip, inet_addr("198.18.0.2"));
    assert_int_equal(a.mask, inet_addr("255.255.255.0"));
    assert_int_equal(a.gw, 0);
    assert_int_equal(a.tx_mode, TX_MODE_RING);
    assert_int_equal(a.txc_free, TXC_FREE_TASK);
    assert_int_equal(a.irq_policy, IRQ_POLICY_DETECT);
    assert_int_equal(a.ring_size, 256);
    assert_true(a.echo && a.lwiperf);
    assert_false(a.mac_set);
}

static void test_every_value(void **state)
{
    struct args a;
    const char *argv[] = {"--tap",
                          "t1",
                          "--ip",
                          "198.19.1.2/16",
                          "--gw",
                          "198.19.0.1",
                          "--mac",
                          "02:00:5e:00:00:0A",
                          "--mtu",
                          "9000",
                          "--tx-mode",
                          "sync",
                          "--txc-free",
                          "isr",
                          "--irq-policy",
                          "rtos",
                          "--ring-size",
                          "64",
                          "--txc-coalesce",
                          "1",
                          "--pcap-snaplen",
                          "96",
                          "--log-level",
                          "debug",
                          "--no-echo",
                          "--no-lwiperf",
                          "--ready-fd",
                          "5",
                          NULL};
    const uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a};

    (void)state;
    assert_int_equal(parse(&a, argv), ARGS_OK);
    assert_int_equal(a.mask, inet_addr("255.255.0.0"));
    assert_int_equal(a.gw, inet_addr("198.19.0.1"));
    assert_memory_equal(a.mac, mac, 6);
    assert_true(a.mac_set);
    assert_int_equal(a.mtu, 9000);
    assert_int_equal(a.tx_mode, TX_MODE_SYNC);
    assert_int_equal(a.txc_free, TXC_FREE_ISR);
    assert_int_equal(a.irq_policy, IRQ_POLICY_RTOS);
    assert_int_equal(a.ring_size, 64);
    assert_int_equal(a.txc_coalesce, 1);
    assert_int_equal(a.pcap_snaplen, 96);
    assert_int_equal(a.log_level, LOG_DEBUG);
    assert_false(a.echo || a.lwiperf);
    assert_int_equal(a.ready_fd, 5);
}

static void test_usage_errors(void **state)
{
    static const char *const bad[][8] = {
        {"--ip", "198.18.0.2/24", NULL},                         /* no --tap */
        {"--tap", "t", NULL},                                    /* no address */
        {"--tap", "t", "--dhcp", "--ip", "198.18.0.2/24", NULL}, /* both */
        {"--tap", "t", "--ip", "198.18.0.2/33", NULL},
        {"--tap", "t", "--ip", "198.18.0/24", NULL},
        {"--tap", "t", "--ip", "0.0.0.0/24", NULL},
        {"--tap", "averyveryverylongname", "--dhcp", NULL},
        {"--tap", "t", "--dhcp", "--mac", "03:00:00:00:00:01", NULL}, /* multicast */
        {"--tap", "t", "--dhcp", "--mac", "02:00:00:00:00", NULL},
        {"--tap", "t", "--dhcp", "--mtu", "100", NULL},
        {"--tap", "t", "--dhcp", "--ring-size", "-1", NULL},
        {"--tap", "t", "--dhcp", "--ring-size", "12x", NULL},
        {"--tap", "t", "--dhcp", "--tx-mode", "dma", NULL},
        {"--tap", "t", "--dhcp", "--irq-policy", "ignore", NULL},
        {"--tap", "t", "--dhcp", "--ready-fd", "1", NULL},
        {"--tap", "t", "--dhcp", "--gw", "198.18.0.1", NULL}, /* gw from DHCP */
        {"--tap", "t", "--dhcp", "--bogus", NULL},
        {"--tap", "t", "--dhcp", "extra", NULL},
        {"--tap", "t", "--dhcp", "--log-level", NULL},
        /* found by tests/fuzz/fuzz_config: a float cast overflow, and NaN */
        {"--tap", "t", "--dhcp", "--pcap-rotate", "1000000000000000000000000000000M:5", NULL},
        {"--tap", "t", "--dhcp", "--pcap-rotate", "nan:5", NULL},
        {"--tap", "t", "--dhcp", "--pcap-rotate", "inf:5", NULL},
        {"--tap", "t", "--dhcp", "--control-mode", "0400", NULL},
        {"--tap", "t", "--dhcp", "--user", "no-such-user-lwipd", NULL},
        {"--tap", "t", "--dhcp", "--fault", "tx explode", NULL},
    };
    struct args a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&a, bad[i]) != ARGS_USAGE)
            fail_msg("case %zu (%s %s ...) was accepted", i, bad[i][0], bad[i][1]);
    }
}

/* The config layer: keys, lines, and the fuzzer's finds replayed. */
static void test_config_string(void **state)
{
    static const struct {
        const char *text;
        const char *error; /* NULL: accepted */
    } cases[] = {
        {"tap = t\nip = 198.18.0.2/24\npcap-rotate = 100M:5\n", NULL},
        {"tap = t\npcap-rotate =1000000000000000000000000000000000000000M:5\n", "line 2"},
        {"tap = t\npcap-rotate = nan:5\n", "line 2: key 'pcap-rotate'"},
        {"tap = t\n\n\nbogus = 1\n", "line 4: unknown key 'bogus'"},
        {"tap = t\ntap = u\n", "already given on line 1"},
        {"fault = tx drop 1%\nfault = rx drop 2%\n", NULL},
        {"dhcp = false\n", NULL},
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct args a;
        int r;

        args_init(&a);
        err[0] = '\0';
        r = config_parse_string(cases[i].text, args_config_set, &a, err, sizeof(err));
        if (cases[i].error) {
            if (r == 0 || !strstr(err, cases[i].error))
                fail_msg("case %zu: got %d '%s', expected '%s'", i, r, err, cases[i].error);
        } else if (r != 0) {
            fail_msg("case %zu refused: %s", i, err);
        }
        if (i == 5)
            assert_int_equal(a.nfaults, 2);
        if (i == 6)
            assert_false(a.dhcp);
        args_free(&a);
    }
}

static void test_ipv4_and_mac_parsers(void **state)
{
    uint32_t ip;
    uint8_t mac[6];

    (void)state;
    assert_int_equal(args_parse_ipv4("198.18.255.254", &ip), 0);
    assert_int_equal(ip, inet_addr("198.18.255.254"));
    assert_int_not_equal(args_parse_ipv4("198.18.0.256", &ip), 0);
    assert_int_not_equal(args_parse_ipv4("", &ip), 0);
    assert_int_equal(args_parse_mac("aa:bb:cc:dd:ee:ff", mac), 0);
    assert_int_equal(mac[5], 0xff);
    assert_int_not_equal(args_parse_mac("aa:bb:cc:dd:ee:ff:00", mac), 0);
    assert_int_not_equal(args_parse_mac("zz:bb:cc:dd:ee:ff", mac), 0);
}

/* --mqtt-pub's and --mdns's syntax (apps/lwip_apps), and a switch whose
 * app the build lacks refused like any usage error. */
static void test_lwip_app_options(void **state)
{
    static const char *const bad_mqtt[] = {
        "198.18.0.1:t",       "198.18.0.1:0:t:100",   "198.18.0.1:t:5",
        "198.18.0.1:t/#:100", "0.0.0.0:t:100",        "example.org:t:100",
        "198.18.0.1:t:100x",  "198.18.0.1:1:2:t:100", "198.18.0.1::100"};
    static const char *const bad_names[] = {"",
                                            "-a",
                                            "a-",
                                            "a.b",
                                            "a b",
                                            "0123456789012345678901234567890123456789012345678901"
                                            "234567890123"};
    const char *mqtt[] = {
        "--tap", "t", "--ip", "198.18.0.2/24", "--mqtt-pub", "198.18.0.1:lwipd/c:250", NULL};
    struct lwip_apps_mqtt m;
    struct args a;
    char err[256];

    (void)state;
    assert_int_equal(lwip_apps_parse_mqtt("198.18.0.1:a/b:100", &m, err, sizeof(err)), 0);
    assert_int_equal(m.broker, inet_addr("198.18.0.1"));
    assert_int_equal(m.port, 1883);
    assert_string_equal(m.topic, "a/b");
    assert_int_equal(m.interval_ms, 100);
    assert_int_equal(lwip_apps_parse_mqtt("198.18.0.1:8883:x:3600000", &m, err, sizeof(err)), 0);
    assert_int_equal(m.port, 8883);
    assert_int_equal(m.interval_ms, 3600000);
    for (size_t i = 0; i < sizeof(bad_mqtt) / sizeof(bad_mqtt[0]); i++) {
        if (lwip_apps_parse_mqtt(bad_mqtt[i], &m, err, sizeof(err)) == 0)
            fail_msg("--mqtt-pub %s was accepted", bad_mqtt[i]);
    }
    assert_int_equal(lwip_apps_parse_mdns_name("board-7", err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        if (lwip_apps_parse_mdns_name(bad_names[i], err, sizeof(err)) == 0)
            fail_msg("--mdns '%s' was accepted", bad_names[i]);
    }
    /* the whole command line: accepted only by a build with the app */
    assert_int_equal(parse(&a, mqtt), LWIPD_APP_MQTT ? ARGS_OK : ARGS_USAGE);
    if (LWIPD_APP_MQTT)
        assert_int_equal(a.lwip_apps.mqtt.interval_ms, 250);
    args_free(&a);
}

static void test_churn_options(void **state)
{
    struct args a;
    const char *none[] = {"--tap", "t", "--ip", "198.18.0.2/24", NULL};
    const char *all[] = {"--tap",
                         "t",
                         "--ip",
                         "198.18.0.2/24",
                         "--churn-port",
                         "9000",
                         "--churn-close",
                         "random=1000,idle=0,requests=3,peer=0",
                         "--churn-select-ms",
                         "7",
                         "--churn-serialize",
                         "--test-hooks",
                         NULL};
    const char *bad[][6] = {
        {"--churn-close", "idle=5,bogus=1"},
        {"--churn-close", "random=1001"},
        {"--churn-close", "idle"},
        {"--churn-close", "idle=-1"},
        {"--churn-port", "0"},
        {"--churn-select-ms", "0"},
        {"--churn-close", "peer=2"},
    };

    (void)state;
    assert_int_equal(parse(&a, none), ARGS_OK);
    assert_false(a.churn || a.test_hooks || a.churn_cfg.serialize);
    assert_int_equal(a.churn_cfg.port, 7777);
    assert_int_equal(a.churn_cfg.idle_ms, 200);
    assert_int_equal(a.churn_cfg.select_ms, 5);
    assert_false(a.churn_cfg.linger_peer_gone);
    assert_int_equal(parse(&a, all), ARGS_OK);
    assert_true(a.churn && a.churn_cfg.serialize && a.test_hooks);
    assert_int_equal(a.churn_cfg.port, 9000);
    assert_int_equal(a.churn_cfg.idle_ms, 0);
    assert_int_equal(a.churn_cfg.close_after, 3);
    assert_int_equal(a.churn_cfg.random_permille, 1000);
    assert_int_equal(a.churn_cfg.select_ms, 7);
    assert_true(a.churn_cfg.linger_peer_gone);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"--tap", "t", "--ip", "198.18.0.2/24", bad[i][0], bad[i][1], NULL};
        assert_int_equal(parse(&a, argv), ARGS_USAGE);
    }
}

/* --check-config: every key once, a value for those not given (from the
 * option table's defaults), and the given ones uncommented. */
static void test_print_config_values(void **state)
{
    struct args a;
    const char *argv[] = {"--tap", "t", "--ip", "198.18.0.2/24", "--ring-size", "64", NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_int_equal(parse(&a, argv), ARGS_OK);
    f = open_memstream(&text, &len);
    assert_non_null(f);
    args_print_config(&a, f);
    fclose(f);
    assert_non_null(strstr(text, "\nring-size = 64\n"));
    assert_non_null(strstr(text, "\n# txc-coalesce = 16\n"));
    assert_non_null(strstr(text, "\n# tx-mode = ring\n"));
    assert_non_null(strstr(text, "\n# watchdog-ms = 5000\n"));
    assert_non_null(strstr(text, "\n# irq-target = stack\n"));
    assert_non_null(strstr(text, "\n# no-echo = false\n"));
    assert_non_null(strstr(text, "\n# gw = (none)\n"));
    assert_null(strstr(text, "(default)"));
    for (size_t i = 0; i < args_option_count(); i++) {
        char key[64];
        const char *name = args_option_name(i);

        if (strcmp(name, "config") == 0 || strcmp(name, "check-config") == 0)
            continue;
        snprintf(key, sizeof(key), "\n# %s = ", name);
        if (!strstr(text, key)) {
            snprintf(key, sizeof(key), "\n%s = ", name);
            if (!strstr(text, key))
                fail_msg("--check-config does not show '%s'", name);
        }
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_ip),     cmocka_unit_test(test_every_value),
        cmocka_unit_test(test_usage_errors),        cmocka_unit_test(test_ipv4_and_mac_parsers),
        cmocka_unit_test(test_churn_options),       cmocka_unit_test(test_config_string),
        cmocka_unit_test(test_print_config_values), cmocka_unit_test(test_lwip_app_options),
    };

    /* The parser prints its complaints; keep the test log readable. */
    if (!freopen("/dev/null", "w", stderr))
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
