/* SPDX-License-Identifier: MIT */
/* lwipctl: command-line client for lwipd's control socket. One request
 * line out, one response line back; human-readable output by default,
 * the daemon's JSON with --json. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lwipctl_iperf3.h"
#include "lwipctl_render.h"
#include "lwipctl_report.h"
#include "lwipctl_wait.h"
#include "lwipctl_watch.h"

#define EXIT_FAILED      1  /* the daemon answered with an error */
#define EXIT_USAGE       64 /* EX_USAGE */
#define EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE: no daemon on the socket */
#define EXIT_TEMPFAIL    75 /* EX_TEMPFAIL: no answer in time */
#define EXIT_PROTOCOL    76 /* EX_PROTOCOL: the answer is not a response */

#define MAX_RESPONSE (16u << 20)

static void usage(FILE *out)
{
    fprintf(out, "Usage: lwipctl [-s PATH | -i TAP] [--json] [--timeout SEC] COMMAND [ARG]...\n"
                 "Talk to a running lwipd. Options go before or after the command (iperf3:\n"
                 "only their long forms after it, its -t and -i are iperf3's); -- ends them.\n\n"
                 "Options:\n"
                 "  -s, --socket PATH   control socket (default /run/lwipd/TAP.sock)\n"
                 "  -i, --tap TAP       lwipd instance by TAP name (default tap0)\n"
                 "  -j, --json          print the daemon's JSON response\n"
                 "  -t, --timeout SEC   give up after SEC seconds (default 10)\n"
                 "  -V, --version       print lwipctl's version and exit\n"
                 "  -h, --help          this help\n\n"
                 "Commands:\n"
                 "  status              addresses, link, modes, uptime, build\n"
                 "  stats               every counter (lwIP, driver, IRQs, apps, capture)\n"
                 "  stats --interval S [--count N]\n"
                 "                      rates per second every S seconds, like vmstat\n"
                 "  events [--follow] [--count N]\n"
                 "                      the recent events; --follow: then each new one\n"
                 "  link [up|down]      show the link, or plug/pull the cable\n"
                 "  link down --tx-busy pull it while frames are in the TX ring\n"
                 "  fault add RULE      add a fault rule, e.g. fault add 'tx drop 30%% \"arp\"'\n"
                 "  fault list|del ID|clear\n"
                 "  capture start [NAME]|stop|rotate|mark TEXT\n"
                 "  igmp join|leave GROUP|list\n"
                 "                      lwIP joins or leaves a multicast group; its groups\n"
                 "  ping HOST [N [MS]]  lwIP sends N echo requests to HOST, MS apart\n"
                 "  sockets [probe] [--all]\n"
                 "                      lwIP's socket table, the slots in use (--all: every\n"
                 "                      slot); probe: find stuck slots (when idle)\n"
                 "  leaks [reset]       lwIP pools and heap vs the baseline taken at ready\n"
                 "  iperf3 --client ADDR [-p PORT] [-t SECS|-n BYTES|-k BLOCKS]\n"
                 "         [-R|--bidir] [-P N] [-u] [-b RATE] [-l LEN] [-O SECS] [-N]\n"
                 "         [-S TOS] [-i SECS] [--get-server-output] [--udp-counters-64bit]\n"
                 "                      lwIP's iperf3 client against a host iperf3 server;\n"
                 "                      prints each interval and the sums as iperf3 does\n"
                 "                      (--json: iperf3 -J's JSON; k/m/g suffixes)\n"
                 "  app load PATH[:ARGS] | unload NAME | list | NAME CMD [ARG]...\n"
                 "                      your apps (lwipd-app(3)): load, unload, list them,\n"
                 "                      or run an app's command (NAME help: its commands)\n"
                 "  version             lwipd and lwIP versions, heap, lwIP options\n"
                 "  report [PATH]       the last crash report as text (PATH: a report file\n"
                 "                      or a directory; default: lwipd's report directory)\n"
                 "  wait ready|link-up|quiet\n"
                 "                      until lwipd answers, lwIP's link is up, or no frame\n"
                 "                      for 1 s (within --timeout; 75 if not)\n"
                 "  shutdown            stop lwipd\n"
                 "  help                the commands this lwipd knows, one a line\n"
                 "  raw JSON            send one request object as it is\n\n"
                 "Exit status: 0 ok, 1 error response, 64 usage, 66 no crash report,\n"
                 "69 no daemon, 75 timeout, 76 malformed response.\n");
}

/* Build the request object for COMMAND and its arguments; *WAIT_S may be
 * raised for commands that take long. NULL: usage error (printed). */
static cJSON *build_request(int argc, char **argv, double *wait_s)
{
    const char *cmd = argv[0];
    cJSON *req;

    if (strcmp(cmd, "raw") == 0) {
        if (argc != 2) {
            fprintf(stderr, "lwipctl: raw needs one JSON argument\n");
            return NULL;
        }
        req = cJSON_Parse(argv[1]);
        if (!cJSON_IsObject(req)) {
            fprintf(stderr, "lwipctl: raw: argument is not a JSON object\n");
            cJSON_Delete(req);
            return NULL;
        }
        return req;
    }
    if (strcmp(cmd, "iperf3") == 0)
        return lwipctl_iperf3_request(argc, argv, wait_s);
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "cmd", cmd);
    if (strcmp(cmd, "link") == 0) {
        int busy = argc == 3 && strcmp(argv[1], "down") == 0 && strcmp(argv[2], "--tx-busy") == 0;
        if ((argc > 2 && !busy) ||
            (argc == 2 && strcmp(argv[1], "up") && strcmp(argv[1], "down"))) {
            fprintf(stderr, "lwipctl: usage: link [up|down [--tx-busy]]\n");
            cJSON_Delete(req);
            return NULL;
        }
        if (argc >= 2)
            cJSON_AddStringToObject(req, "state", argv[1]);
        if (busy)
            cJSON_AddStringToObject(req, "when", "tx-busy");
    } else if (strcmp(cmd, "fault") == 0) {
        const char *op = argc > 1 ? argv[1] : "list";
        cJSON_AddStringToObject(req, "op", op);
        if (strcmp(op, "add") == 0 && argc >= 3) {
            char rule[1024] = "";
            for (int i = 2; i < argc; i++) { /* the rule may come as one word or several */
                if (strlen(rule) + strlen(argv[i]) + 2 > sizeof(rule))
                    break;
                if (i > 2)
                    strcat(rule, " ");
                strcat(rule, argv[i]);
            }
            cJSON_AddStringToObject(req, "rule", rule);
        } else if (strcmp(op, "del") == 0 && argc == 3) {
            cJSON_AddNumberToObject(req, "rule_id", atof(argv[2]));
        } else if (!((strcmp(op, "list") == 0 || strcmp(op, "clear") == 0) && argc <= 2)) {
            fprintf(stderr, "lwipctl: usage: fault add RULE | list | del ID | clear\n");
            cJSON_Delete(req);
            return NULL;
        }
    } else if (strcmp(cmd, "capture") == 0) {
        const char *op = argc > 1 ? argv[1] : "";
        cJSON_AddStringToObject(req, "op", op);
        if (strcmp(op, "start") == 0 && argc <= 3) {
            if (argc == 3)
                cJSON_AddStringToObject(req, "path", argv[2]);
        } else if (strcmp(op, "mark") == 0 && argc >= 3) {
            char text[512] = "";
            for (int i = 2; i < argc; i++) {
                if (strlen(text) + strlen(argv[i]) + 2 > sizeof(text))
                    break;
                if (i > 2)
                    strcat(text, " ");
                strcat(text, argv[i]);
            }
            cJSON_AddStringToObject(req, "text", text);
        } else if (!((strcmp(op, "stop") == 0 || strcmp(op, "rotate") == 0) && argc == 2)) {
            fprintf(stderr, "lwipctl: usage: capture start [NAME] | stop | rotate | mark TEXT\n");
            cJSON_Delete(req);
            return NULL;
        }
    } else if (strcmp(cmd, "igmp") == 0) {
        const char *op = argc > 1 ? argv[1] : "list";
        int group = strcmp(op, "join") == 0 || strcmp(op, "leave") == 0;

        if ((group && argc != 3) || (!group && (strcmp(op, "list") != 0 || argc > 2))) {
            fprintf(stderr, "lwipctl: usage: igmp join GROUP | leave GROUP | list\n");
            cJSON_Delete(req);
            return NULL;
        }
        cJSON_AddStringToObject(req, "op", op);
        if (group)
            cJSON_AddStringToObject(req, "group", argv[2]);
    } else if (strcmp(cmd, "ping") == 0) {
        char *end;
        long v;

        if (argc < 2 || argc > 4) {
            fprintf(stderr, "lwipctl: usage: ping HOST [COUNT [INTERVAL_MS]]\n");
            cJSON_Delete(req);
            return NULL;
        }
        cJSON_AddStringToObject(req, "host", argv[1]);
        for (int i = 2; i < argc; i++) {
            v = strtol(argv[i], &end, 10);
            if (*end || v <= 0) {
                fprintf(stderr, "lwipctl: ping: '%s' is not a positive number\n", argv[i]);
                cJSON_Delete(req);
                return NULL;
            }
            cJSON_AddNumberToObject(req, i == 2 ? "count" : "interval_ms", (double)v);
        }
    } else if (strcmp(cmd, "sockets") == 0 || strcmp(cmd, "leaks") == 0) {
        const char *flag = strcmp(cmd, "sockets") == 0 ? "probe" : "reset";

        if (argc > 2 || (argc == 2 && strcmp(argv[1], flag) != 0)) {
            fprintf(stderr, "lwipctl: usage: %s [%s]\n", cmd, flag);
            cJSON_Delete(req);
            return NULL;
        }
        if (argc == 2)
            cJSON_AddBoolToObject(req, flag, 1);
    } else if (strcmp(cmd, "app") == 0) {
        cJSON *av = cJSON_AddArrayToObject(req, "argv");

        if (argc < 2) {
            fprintf(stderr, "lwipctl: usage: app load PATH[:ARGS] | unload NAME | list | "
                            "NAME CMD [ARG]...\n");
            cJSON_Delete(req);
            return NULL;
        }
        for (int i = 1; i < argc; i++)
            cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
    } else if (argc > 1) {
        fprintf(stderr, "lwipctl: %s takes no arguments\n", cmd);
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* Connect to the control socket PATH: the fd, or -errno. */
static int connect_socket(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd, err;

    if (strlen(path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Write all LEN bytes of BUF to FD. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* What came after the last line read: the next lines (a command's
 * progress lines come before its answer). */
static struct {
    char *buf;
    size_t len;
} carry;

/* Read up to the first newline within TIMEOUT_MS into *OUT (a malloc'd
 * string, the newline cut). 0, or -ETIMEDOUT, -EPROTO (EOF or an oversize
 * line) or -ENOMEM, with *OUT untouched. */
static int read_line(int fd, int timeout_ms, char **out)
{
    size_t cap = 4096 + carry.len, len = carry.len, scanned = 0;
    char *buf = malloc(cap);
    struct timespec start, now;
    int err = -ENOMEM;

    if (buf && carry.len)
        memcpy(buf, carry.buf, carry.len);
    free(carry.buf);
    carry.buf = NULL;
    carry.len = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (buf) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char *nl = len > scanned ? memchr(buf + scanned, '\n', len - scanned) : NULL;
        long left;
        ssize_t r;

        scanned = len;
        if (nl) {
            carry.len = len - (size_t)(nl + 1 - buf);
            carry.buf = carry.len ? malloc(carry.len) : NULL;
            if (carry.buf)
                memcpy(carry.buf, nl + 1, carry.len);
            else
                carry.len = 0;
            *nl = '\0';
            *out = buf;
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms -
               ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            err = -ETIMEDOUT;
            goto err;
        }
        if (len + 1 >= cap) {
            char *nb = cap >= MAX_RESPONSE ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                err = -EPROTO;
                goto err;
            }
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = -EPROTO;
            goto err;
        }
        len += (size_t)r;
        buf[len] = '\0';
    }
err:
    free(buf);
    return err;
}

/* One request line REQ to SOCK: the parsed response, or NULL (see
 * lwipctl_report.h: `report` asks for the report directory with it). */
cJSON *lwipctl_ask(const char *sock, const char *req, double timeout)
{
    char *resp_line = NULL;
    cJSON *resp = NULL;
    int fd = connect_socket(sock);

    if (fd < 0)
        return NULL;
    if (write_all(fd, req, strlen(req)) == 0 && write_all(fd, "\n", 1) == 0 &&
        read_line(fd, (int)(timeout * 1000), &resp_line) == 0)
        resp = cJSON_Parse(resp_line);
    free(resp_line);
    close(fd);
    free(carry.buf); /* what followed was this connection's */
    carry.buf = NULL;
    carry.len = 0;
    return resp;
}

struct globals {
    const char *sock, *tap;
    bool json, timeout_set, all;
    double timeout;
};

/* --timeout's value into G. 0, or -EINVAL (printed). */
static int set_timeout(struct globals *g, const char *v)
{
    char *end;

    g->timeout = strtod(v, &end);
    if (end == v || *end || g->timeout <= 0 || g->timeout > 3600) {
        fprintf(stderr, "lwipctl: --timeout: '%s' is not 0-3600 seconds\n", v);
        return -EINVAL;
    }
    g->timeout_set = true;
    return 0;
}

/* If ARGV[*I], a word after the command, is a global option, take it (and
 * its value) into G and move *I past it: 1. Not one: 0. A global option
 * without its value or with a bad one: -EINVAL (printed). Short forms are
 * taken only when SHORT_OK (iperf3's own -t, -i... are iperf3's). */
static int take_global(int argc, char **argv, int *i, bool short_ok, struct globals *g)
{
    static const struct {
        const char *lng;
        const char *shrt;
    } valued[] = {{"--socket", "-s"}, {"--tap", "-i"}, {"--timeout", "-t"}};
    const char *a = argv[*i];

    if (strcmp(a, "--json") == 0 || (short_ok && strcmp(a, "-j") == 0)) {
        g->json = true;
        return 1;
    }
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        size_t n = strlen(valued[k].lng);
        const char *v = NULL;

        if (strncmp(a, valued[k].lng, n) == 0 && a[n] == '=') {
            v = a + n + 1;
        } else if (strcmp(a, valued[k].lng) == 0 || (short_ok && strcmp(a, valued[k].shrt) == 0)) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "lwipctl: %s needs a value\n", a);
                return -EINVAL;
            }
            v = argv[++*i];
        } else {
            continue;
        }
        if (k == 0)
            g->sock = v;
        else if (k == 1)
            g->tap = v;
        else if (set_timeout(g, v))
            return -EINVAL;
        return 1;
    }
    return 0;
}

/* The command and its own arguments out of ARGV (the words from the command
 * on), global options anywhere among them taken into G; "--" ends them.
 * The count left in *ARGC, or -EINVAL (printed). */
static int split_globals(int *argc, char **argv, struct globals *g)
{
    bool iperf3 = strcmp(argv[0], "iperf3") == 0;
    bool sockets = strcmp(argv[0], "sockets") == 0;
    int n = 1;

    for (int i = 1; i < *argc; i++) {
        int r;

        if (strcmp(argv[i], "--") == 0) {
            while (++i < *argc)
                argv[n++] = argv[i];
            break;
        }
        if (sockets && strcmp(argv[i], "--all") == 0) {
            g->all = true;
            continue;
        }
        r = take_global(*argc, argv, &i, !iperf3, g);
        if (r < 0)
            return r;
        if (r == 0)
            argv[n++] = argv[i];
    }
    *argc = n;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"tap", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct globals g = {.tap = "tap0", .timeout = 10};
    char pathbuf[108];
    double wait_s = 0;
    int c, fd, cargc;

    while ((c = getopt_long(argc, argv, "+s:i:jt:hV", lopts, NULL)) != -1) {
        switch (c) {
        case 's':
            g.sock = optarg;
            break;
        case 'i':
            g.tap = optarg;
            break;
        case 'j':
            g.json = true;
            break;
        case 't':
            if (set_timeout(&g, optarg))
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("lwipctl %s\n", LWIPD_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cargc = argc - optind;
    if (split_globals(&cargc, argv + optind, &g))
        return EXIT_USAGE;
    if (!g.sock) {
        snprintf(pathbuf, sizeof(pathbuf), "/run/lwipd/%s.sock", g.tap);
        g.sock = pathbuf;
    }
    int wrc = lwipctl_watch(cargc, argv + optind, g.sock, g.json, g.timeout);
    if (wrc >= 0)
        return wrc;
    const char *sock = g.sock;
    double timeout = g.timeout;
    if (strcmp(argv[optind], "wait") == 0) /* polls: lwipctl_wait.c */
        return lwipctl_wait(cargc, argv + optind, sock, timeout, lwipctl_ask);
    if (strcmp(argv[optind], "report") == 0) /* read on this side: lwipctl_report.c */
        return lwipctl_report(cargc, argv + optind, sock, timeout, lwipctl_ask);
    /* before build_request(), which moves optind */
    bool iperf3_human = !g.json && strcmp(argv[optind], "iperf3") == 0;
    cJSON *req = build_request(cargc, argv + optind, &wait_s);
    if (!req)
        return EXIT_USAGE;
    if (!g.timeout_set && wait_s > timeout)
        timeout = wait_s;
    if (iperf3_human)
        lwipctl_iperf3_human(req); /* intervals as they come */
    char *line = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);

    fd = connect_socket(sock);
    if (fd < 0) {
        fprintf(stderr, "lwipctl: %s: %s (is lwipd running?)\n", sock, strerror(-fd));
        free(line);
        return EXIT_UNAVAILABLE;
    }
    int werr = write_all(fd, line, strlen(line));
    if (!werr)
        werr = write_all(fd, "\n", 1);
    if (werr) {
        fprintf(stderr, "lwipctl: %s: write: %s\n", sock, strerror(-werr));
        free(line);
        close(fd);
        return EXIT_UNAVAILABLE;
    }
    free(line);
    char *resp_line = NULL;
    cJSON *resp = NULL;
    int rerr;
    while ((rerr = read_line(fd, (int)(timeout * 1000), &resp_line)) == 0) {
        resp = cJSON_Parse(resp_line);
        if (!cJSON_IsObject(resp) || cJSON_GetObjectItemCaseSensitive(resp, "ok"))
            break;
        if (!g.json) /* a line of progress before the answer */
            lwipctl_iperf3_progress(resp);
        cJSON_Delete(resp);
        free(resp_line);
        resp = NULL;
    }
    close(fd);
    if (rerr) {
        fprintf(stderr, "lwipctl: %s\n",
                rerr == -ETIMEDOUT ? "no answer in time" : "connection closed without an answer");
        return rerr == -ETIMEDOUT ? EXIT_TEMPFAIL : EXIT_PROTOCOL;
    }
    cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
    if (!cJSON_IsObject(resp) || !cJSON_IsBool(ok)) {
        fprintf(stderr, "lwipctl: malformed response: %.200s\n", resp_line);
        free(resp_line);
        cJSON_Delete(resp);
        return EXIT_PROTOCOL;
    }
    if (g.json) {
        puts(resp_line);
    } else if (cJSON_IsTrue(ok) && cJSON_GetObjectItemCaseSensitive(resp, "end")) {
        lwipctl_iperf3_render(resp);
    } else if (cJSON_IsTrue(ok) && strcmp(argv[optind], "help") == 0) {
        lwipctl_render_help(resp);
    } else if (cJSON_IsTrue(ok)) {
        if (strcmp(argv[optind], "sockets") == 0 && !g.all)
            lwipctl_render_sockets_used(resp);
        lwipctl_render_human(resp);
    } else {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
        fprintf(stderr, "lwipctl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
    }
    int rc = cJSON_IsTrue(ok) ? 0 : EXIT_FAILED;
    free(resp_line);
    cJSON_Delete(resp);
    return rc;
}
