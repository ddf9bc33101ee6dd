/* SPDX-License-Identifier: MIT */
/* lwipd-churn: host-side TCP connection churn client (and a kernel listener
 * for benchmarks), on libevent. Prints one JSON summary.
 *
 * Each connection follows one pattern: client-close (FIN from the client),
 * server-close (send, read the echo, wait for the server's FIN), rst (close
 * with SO_LINGER 0), half-close (send, shutdown(SHUT_WR), read to EOF) or
 * vanish (TCP_REPAIR, then close: the client disappears without a FIN or
 * RST). Runs are bounded by a count, a time and a per-connection deadline.
 * Network safety: destinations outside 198.18.0.0/15 (RFC 2544) are refused
 * unless --allow-any-address is given.
 *
 * This file is the client and the command line; the summary is
 * churn_report.c's, the --serve listener churn_serve.c's (lwipd_churn.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lwipd_churn.h"

#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif

#define EXIT_USAGE 64

enum phase { PH_CONNECT, PH_SEND, PH_ECHO, PH_EOF };

struct conn {
    struct run *run;
    int fd;
    enum pattern pat;
    enum phase phase;
    struct event *ev;
    uint64_t t0, t_conn;
    size_t sent, rcvd;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool safe_addr(struct in_addr a)
{
    uint32_t h = ntohl(a.s_addr);

    return (h & 0xfffe0000u) == 0xc6120000u; /* 198.18.0.0/15 */
}

static const char *errname(int err)
{
    const char *n = strerrorname_np(err);

    return n ? n : "EUNKNOWN";
}

static void start_more(struct run *r);

static void conn_end(struct conn *c, const char *failure)
{
    struct run *r = c->run;
    uint64_t t = now_ns();

    if (c->ev)
        event_free(c->ev);
    if (c->fd >= 0)
        close(c->fd);
    r->inflight--;
    r->last_ns = t;
    if (failure) {
        r->failed++;
        r->pat_failed[c->pat]++;
        churn_report_fail(r, failure);
    } else {
        r->ok++;
        r->pat_ok[c->pat]++;
        if (r->nsamples < MAX_SAMPLES) {
            r->connect_ms[r->nsamples] = (double)(c->t_conn - c->t0) / 1e6;
            r->total_ms[r->nsamples] = (double)(t - c->t0) / 1e6;
            r->nsamples++;
        }
    }
    free(c);
    start_more(r);
}

/* Close the way the pattern says; the connection counts as a success. */
static void conn_finish(struct conn *c)
{
    if (c->pat == P_RST) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    } else if (c->pat == P_VANISH) {
        int one = 1;
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)) != 0) {
            conn_end(c, errname(errno));
            return;
        }
    }
    conn_end(c, NULL);
}

static void on_event(evutil_socket_t fd, short what, void *arg);

/* Wait for WHAT on C's socket until its deadline. */
static void conn_wait(struct conn *c, short what)
{
    struct run *r = c->run;
    uint64_t deadline = c->t0 + (uint64_t)r->timeout_ms * 1000000u, t = now_ns();
    uint64_t left = deadline > t ? deadline - t : 0;
    struct timeval tv = {(time_t)(left / 1000000000u), (suseconds_t)(left % 1000000000u / 1000)};

    if (c->ev)
        event_free(c->ev);
    c->ev = event_new(r->base, c->fd, what, on_event, c);
    if (!c->ev || event_add(c->ev, &tv) != 0) {
        conn_end(c, "ENOMEM");
        return;
    }
}

/* Advance C as far as the socket allows. */
static void conn_step(struct conn *c)
{
    struct run *r = c->run;

    if (c->phase == PH_SEND) {
        while (c->sent < r->payload) {
            ssize_t n = send(c->fd, r->buf, r->payload - c->sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                conn_wait(c, EV_WRITE);
                return;
            }
            if (n < 0) {
                conn_end(c, errname(errno));
                return;
            }
            c->sent += (size_t)n;
        }
        if (c->pat == P_HALF_CLOSE && shutdown(c->fd, SHUT_WR) != 0) {
            conn_end(c, errname(errno));
            return;
        }
        c->phase = PH_ECHO;
    }
    while (c->phase == PH_ECHO || c->phase == PH_EOF) {
        ssize_t n;

        if (c->phase == PH_ECHO && c->rcvd >= r->payload) {
            if (c->pat != P_SERVER_CLOSE && c->pat != P_HALF_CLOSE) {
                conn_finish(c);
                return;
            }
            c->phase = PH_EOF;
        }
        n = recv(c->fd, r->rbuf, IOBUF, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_wait(c, EV_READ);
            return;
        }
        if (n < 0) {
            conn_end(c, errname(errno));
            return;
        }
        if (n == 0) {
            if (c->phase == PH_EOF)
                conn_finish(c);
            else
                conn_end(c, "EOF-before-echo");
            return;
        }
        c->rcvd += (size_t)n;
    }
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    if (what & EV_TIMEOUT) {
        conn_end(c, "ETIMEDOUT");
        return;
    }
    if (c->phase == PH_CONNECT) {
        int err = 0;
        socklen_t len = sizeof(err);

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            conn_end(c, errname(err));
            return;
        }
        c->t_conn = now_ns();
        c->phase = PH_SEND;
    }
    conn_step(c);
}

static bool may_start(struct run *r)
{
    uint64_t t = now_ns();

    if (r->started >= r->count) {
        r->stopped_by = "count";
        return false;
    }
    if (t >= r->stop_ns) {
        r->stopped_by = "time";
        return false;
    }
    return true;
}

static void start_one(struct run *r)
{
    struct conn *c = calloc(1, sizeof(*c));
    int fd, one = 1;

    r->started++;
    r->inflight++;
    if (!c) {
        r->inflight--;
        r->failed++;
        churn_report_fail(r, "ENOMEM");
        return;
    }
    c->run = r;
    c->fd = -1;
    c->pat = r->patterns[(r->started - 1) % (uint64_t)r->npatterns];
    c->t0 = now_ns();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_end(c, errname(errno));
        return;
    }
    c->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (r->nsrc > 0 && bind(fd, (struct sockaddr *)&r->src[r->started % (uint64_t)r->nsrc],
                            sizeof(r->src[0])) != 0) {
        conn_end(c, errname(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&r->dst, sizeof(r->dst)) == 0) {
        c->t_conn = now_ns();
        c->phase = PH_SEND;
        conn_step(c);
        return;
    }
    if (errno != EINPROGRESS) {
        conn_end(c, errname(errno));
        return;
    }
    c->phase = PH_CONNECT;
    conn_wait(c, EV_WRITE);
}

/* Keep CONCURRENCY connections in flight while the count and time allow.
 * Connections that end at once call back here: the depth guard turns that
 * recursion into this loop. */
static void start_more(struct run *r)
{
    static int depth;

    if (depth > 0)
        return;
    depth++;
    while (r->inflight < r->concurrency && may_start(r))
        start_one(r);
    depth--;
    if (r->inflight == 0)
        event_base_loopbreak(r->base);
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "Usage: lwipd-churn [OPTION]... HOST PORT\n"
                 "       lwipd-churn --serve PORT [--bind ADDR] [--time SEC]\n"
                 "Open and close TCP connections to HOST:PORT; print a JSON summary.\n\n"
                 "  -c, --concurrency N   connections in flight (default 16)\n"
                 "  -n, --count M         connections in total (default 1000)\n"
                 "  -t, --time SEC        start no connection after SEC seconds (default 60)\n"
                 "  -p, --pattern P       client-close (default), server-close, rst, half-close,\n"
                 "                        vanish, or mix (all five in turn)\n"
                 "  -s, --payload BYTES   bytes sent per connection, expected back (default 0)\n"
                 "      --timeout MS      deadline of one connection (default 5000)\n"
                 "      --bind A[,A...]   source addresses, used in turn\n"
                 "      --serve PORT      be a kernel echo listener (for benchmarks) instead\n"
                 "      --allow-any-address  allow destinations outside 198.18.0.0/15\n"
                 "  -h, --help            this help\n\n"
                 "Exit status: 0 when every connection succeeded, 1 when some failed, 64 usage.\n");
}

static int parse_num(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_sources(struct run *r, char *list)
{
    char *save = NULL;

    for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        if (r->nsrc == MAX_SOURCES)
            return -EINVAL;
        struct sockaddr_in *s = &r->src[r->nsrc++];
        s->sin_family = AF_INET;
        if (inet_pton(AF_INET, a, &s->sin_addr) != 1)
            return -EINVAL;
    }
    return r->nsrc > 0 ? 0 : -EINVAL;
}

/* "mix", or a comma-separated list of pattern names. */
static int parse_patterns(struct run *r, const char *arg)
{
    char buf[sizeof(r->pattern_arg)], *save = NULL;
    size_t len = strlen(arg);

    if (len >= sizeof(buf))
        return -EINVAL;
    memcpy(r->pattern_arg, arg, len + 1);
    r->npatterns = 0;
    if (strcmp(arg, "mix") == 0) {
        for (int p = 0; p < P_COUNT; p++)
            r->patterns[r->npatterns++] = (enum pattern)p;
        return 0;
    }
    memcpy(buf, arg, len + 1);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int p;
        for (p = 0; p < P_COUNT && strcmp(t, churn_report_pattern_name((enum pattern)p)) != 0; p++)
            ;
        if (p == P_COUNT || r->npatterns == P_COUNT)
            return -EINVAL;
        r->patterns[r->npatterns++] = (enum pattern)p;
    }
    return r->npatterns > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    enum { OPT_TIMEOUT = 1000, OPT_BIND, OPT_SERVE, OPT_ANY };
    static const struct option lopts[] = {
        {"concurrency", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"time", required_argument, NULL, 't'},
        {"pattern", required_argument, NULL, 'p'},
        {"payload", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"serve", required_argument, NULL, OPT_SERVE},
        {"allow-any-address", no_argument, NULL, OPT_ANY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct run r;
    bool any = false;
    double v, serve_port = 0;
    int c;

    r.concurrency = 16;
    r.count = 1000;
    r.time_s = 60;
    r.timeout_ms = 5000;
    parse_patterns(&r, "client-close");
    while ((c = getopt_long(argc, argv, "c:n:t:p:s:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_num(optarg, 1, 10000, &v))
                goto bad;
            r.concurrency = (unsigned)v;
            break;
        case 'n':
            if (parse_num(optarg, 1, 1e8, &v))
                goto bad;
            r.count = (uint64_t)v;
            break;
        case 't':
            if (parse_num(optarg, 0.01, 3600, &r.time_s))
                goto bad;
            break;
        case 'p':
            if (parse_patterns(&r, optarg))
                goto bad;
            break;
        case 's':
            if (parse_num(optarg, 0, 1 << 20, &v))
                goto bad;
            r.payload = (size_t)v;
            break;
        case OPT_TIMEOUT:
            if (parse_num(optarg, 1, 600000, &v))
                goto bad;
            r.timeout_ms = (unsigned)v;
            break;
        case OPT_BIND:
            if (parse_sources(&r, optarg))
                goto bad;
            break;
        case OPT_SERVE:
            if (parse_num(optarg, 1, 65535, &serve_port))
                goto bad;
            break;
        case OPT_ANY:
            any = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (serve_port > 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)serve_port)};
        if (optind != argc || r.nsrc > 1)
            goto bad;
        if (r.nsrc == 1)
            a.sin_addr = r.src[0].sin_addr;
        return churn_serve(&a, r.time_s);
    }
    if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &r.dst.sin_addr) != 1 ||
        parse_num(argv[optind + 1], 1, 65535, &v))
        goto bad;
    r.dst.sin_family = AF_INET;
    r.dst.sin_port = htons((uint16_t)v);
    if (!any && !safe_addr(r.dst.sin_addr)) {
        fprintf(stderr,
                "lwipd-churn: %s is outside 198.18.0.0/15; refusing (--allow-any-address "
                "overrides)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    r.buf = malloc(r.payload + 1);
    r.rbuf = malloc(IOBUF);
    r.connect_ms = malloc(sizeof(double) * MAX_SAMPLES);
    r.total_ms = malloc(sizeof(double) * MAX_SAMPLES);
    r.base = event_base_new();
    if (!r.buf || !r.rbuf || !r.connect_ms || !r.total_ms || !r.base) {
        fprintf(stderr, "lwipd-churn: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < r.payload; i++)
        r.buf[i] = (char)('a' + i % 26);
    r.start_ns = r.last_ns = now_ns();
    r.stop_ns = r.start_ns + (uint64_t)(r.time_s * 1e9);
    start_more(&r);
    if (r.inflight > 0)
        event_base_dispatch(r.base);
    churn_report_print(&r);
    event_base_free(r.base);
    return r.failed ? 1 : 0;
bad:
    usage(stderr);
    return EXIT_USAGE;
}
