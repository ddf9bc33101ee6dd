/* SPDX-License-Identifier: MIT */
/* lwipctl's iperf3 command: iperf3's own options into a control request. */
#include "lwipctl_iperf3.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* NUMBER[k|m|g]: BASE 1000 for rates, 1024 for sizes (as iperf3). 0 or
 * -EINVAL. */
static int parse_scaled(const char *s, double base, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || v < 0)
        return -EINVAL;
    switch (*end) {
    case 'k':
    case 'K':
        v *= base, end++;
        break;
    case 'm':
    case 'M':
        v *= base * base, end++;
        break;
    case 'g':
    case 'G':
        v *= base * base * base, end++;
        break;
    default:
        break;
    }
    if (*end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* lwipctl's iperf3 command (ARGV[0] is "iperf3") into a request object;
 * *WAIT_S: how long the run may take. NULL: a usage error (printed). */
cJSON *lwipctl_iperf3_request(int argc, char **argv, double *wait_s)
{
    static const struct option lo[] = {
        {"client", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"time", required_argument, NULL, 't'},
        {"bytes", required_argument, NULL, 'n'},
        {"blockcount", required_argument, NULL, 'k'},
        {"reverse", no_argument, NULL, 'R'},
        {"bidir", no_argument, NULL, 'B'},
        {"parallel", required_argument, NULL, 'P'},
        {"udp", no_argument, NULL, 'u'},
        {"bitrate", required_argument, NULL, 'b'},
        {"bandwidth", required_argument, NULL, 'b'},
        {"length", required_argument, NULL, 'l'},
        {"omit", required_argument, NULL, 'O'},
        {"no-delay", no_argument, NULL, 'N'},
        {"tos", required_argument, NULL, 'S'},
        {"get-server-output", no_argument, NULL, 'G'},
        {"udp-counters-64bit", no_argument, NULL, '6'},
        {"interval", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int opt;
        const char *key;
        double base, max;
    } nums[] = {
        {'p', "port", 1, 65535},     {'t', "time", 1, 3600},    {'n', "bytes", 1024, 1e12},
        {'k', "blocks", 1, 4e9},     {'P', "parallel", 1, 128}, {'b', "bandwidth", 1000, 1e12},
        {'l', "len", 1024, 1 << 20}, {'O', "omit", 1, 600},     {'S', "tos", 1, 255},
    };
    cJSON *req = cJSON_CreateObject();
    double t = 10, omit = 0;
    bool host = false, ends = false;
    int c;

    cJSON_AddStringToObject(req, "cmd", "iperf3");
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:p:t:n:k:RP:ub:l:O:NS:i:", lo, NULL)) != -1) {
        bool done = false;
        double v;

        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
            if (nums[i].opt != c)
                continue;
            if (parse_scaled(optarg, nums[i].base, nums[i].max, &v) || v != (double)(long long)v) {
                fprintf(stderr, "lwipctl: iperf3: bad value '%s' for %s\n", optarg, nums[i].key);
                goto bad;
            }
            cJSON_AddNumberToObject(req, nums[i].key, v);
            if (c == 't')
                t = v;
            if (c == 'O')
                omit = v;
            if (c == 'n' || c == 'k')
                ends = true;
            done = true;
        }
        if (done)
            continue;
        switch (c) {
        case 'c':
            cJSON_AddStringToObject(req, "host", optarg);
            host = true;
            break;
        case 'R':
            cJSON_AddTrueToObject(req, "reverse");
            break;
        case 'B':
            cJSON_AddTrueToObject(req, "bidir");
            break;
        case 'u':
            cJSON_AddTrueToObject(req, "udp");
            break;
        case 'N':
            cJSON_AddTrueToObject(req, "nodelay");
            break;
        case 'G':
            cJSON_AddTrueToObject(req, "get_server_output");
            break;
        case '6':
            cJSON_AddTrueToObject(req, "udp_counters_64bit");
            break;
        case 'i': /* seconds, fractions too, as iperf3's -i */
            if (parse_scaled(optarg, 1, 60, &v) || (v != 0 && v < 0.1)) {
                fprintf(stderr, "lwipctl: iperf3: bad value '%s' for interval (0, 0.1-60)\n",
                        optarg);
                goto bad;
            }
            cJSON_AddNumberToObject(req, "interval", v);
            break;
        default:
            fprintf(stderr, "lwipctl: iperf3: bad option '%s'\n", argv[optind - 1]);
            goto bad;
        }
    }
    if (!host || optind < argc) {
        fprintf(stderr, "lwipctl: usage: iperf3 --client ADDR [OPTION]... (see lwipctl --help)\n");
        goto bad;
    }
    *wait_s = (ends ? 300 : t) + omit + 30;
    return req;
bad:
    cJSON_Delete(req);
    return NULL;
}

/* For a person (no --json): ask the daemon to stream the intervals of the
 * request REQ as they come, and say where it goes, as iperf3 does. */
void lwipctl_iperf3_human(cJSON *req)
{
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(req, "host");
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(req, "port");

    cJSON_AddTrueToObject(req, "intervals");
    printf("Connecting to host %s, port %d\n", cJSON_IsString(host) ? host->valuestring : "?",
           cJSON_IsNumber(port) ? port->valueint : 5201);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "reverse")))
        printf("Reverse mode, remote host %s is sending\n",
               cJSON_IsString(host) ? host->valuestring : "?");
    fflush(stdout);
}
