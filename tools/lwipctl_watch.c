/* SPDX-License-Identifier: MIT */
/* lwipctl's commands that watch lwipd over time, on one connection:
 *   stats --interval S [--count N]   rates per second, like vmstat
 *   events [--follow] [--count N]    the events, and new ones as they come
 * They run until done, or until Ctrl-C (SIGINT, SIGTERM) or a reader that
 * went away (SIGPIPE, EPIPE) ends them, which is a normal end: exit 0, as
 * tail -f and vmstat do. */
#define _GNU_SOURCE
#include "lwipctl_watch.h"
#include "lwipctl_watch_priv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE       (16u << 20)
#define FOLLOW_BACKLOG 10 /* events shown before following, as tail -f's lines */

volatile sig_atomic_t watch_stopping;

static void on_stop(int sig)
{
    (void)sig;
    watch_stopping = 1;
}

/* Ctrl-C and SIGTERM set `watch_stopping` and interrupt the blocking calls (no
 * SA_RESTART); SIGPIPE becomes EPIPE on the write. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Print LINE and a newline at once (a pipe reader sees each line as it
 * comes). false when stdout's reader has gone: time to stop. */
bool watch_out_line(const char *line, size_t len)
{
    fwrite(line, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0) {
        watch_stopping = 1;
        return false;
    }
    return true;
}

double watch_now_s(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the connection: requests out, lines in ---------------------------- */

struct watch_conn {
    int fd;
    char *buf;
    size_t len, cap;
};

/* Connect to the control socket PATH. 0, or an exit code (printed). */
static int conn_open(struct watch_conn *c, const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int err = ENAMETOOLONG;

    c->fd = -1;
    if (strlen(path) < sizeof(sun.sun_path)) {
        memcpy(sun.sun_path, path, strlen(path));
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        err = errno;
        if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
            err = errno;
            close(c->fd);
            c->fd = -1;
        }
    }
    if (c->fd < 0) {
        fprintf(stderr, "lwipctl: %s: %s (is lwipd running?)\n", path, strerror(err));
        return EXIT_UNAVAILABLE;
    }
    return 0;
}

static void conn_close(struct watch_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
}

/* Send REQ (consumed) as one line. 0, or an exit code (printed). */
int watch_conn_send(struct watch_conn *c, cJSON *req)
{
    char *line = cJSON_PrintUnformatted(req);
    size_t len = line ? strlen(line) : 0;
    ssize_t w = 0;

    cJSON_Delete(req);
    if (line) {
        line[len] = '\n'; /* the terminator goes; send() takes a length */
        for (size_t off = 0; off <= len; off += (size_t)w) {
            w = send(c->fd, line + off, len + 1 - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR && !watch_stopping)
                w = 0;
            else if (w <= 0)
                break;
        }
        free(line);
    }
    if (!line || w <= 0) {
        if (!watch_stopping)
            fprintf(stderr, "lwipctl: cannot send the request: %s\n",
                    line ? strerror(errno) : "out of memory");
        return EXIT_UNAVAILABLE;
    }
    return 0;
}

/* The next line from the daemon into *LINE (points into C's buffer, valid
 * until the next call), waiting at most TIMEOUT_MS (< 0: for ever). 0, or
 * -EINTR (watch_stopping), -ETIMEDOUT, -EPROTO (closed, or a line too long). */
static int conn_line(struct watch_conn *c, int timeout_ms, char **line)
{
    double deadline = watch_now_s(CLOCK_MONOTONIC) + timeout_ms / 1000.0;
    char *nl;

    for (;;) {
        nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            *nl = '\0';
            *line = c->buf;
            return 0;
        }
        if (watch_stopping)
            return -EINTR;
        if (c->len + 4096 > c->cap) {
            char *nb = c->cap >= MAX_LINE ? NULL : realloc(c->buf, c->cap * 2 + 8192);
            if (!nb)
                return -EPROTO;
            c->buf = nb;
            c->cap = c->cap * 2 + 8192;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int left = timeout_ms < 0 ? -1 : (int)((deadline - watch_now_s(CLOCK_MONOTONIC)) * 1000);
        if (timeout_ms >= 0 && left <= 0)
            return -ETIMEDOUT;
        int p = poll(&pfd, 1, left);
        if (p < 0 && errno == EINTR)
            continue;
        if (p == 0)
            return -ETIMEDOUT;
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -EPROTO;
        c->len += (size_t)r;
    }
}

/* Drop the line conn_line() returned last from C's buffer. */
static void conn_consume(struct watch_conn *c, const char *line)
{
    size_t used = strlen(line) + 1;

    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

/* An exit code for conn_line()'s error R (printed, but for a stop). */
static int line_error(int r)
{
    if (r == -EINTR)
        return 0;
    fprintf(stderr, "lwipctl: %s\n",
            r == -ETIMEDOUT ? "no answer in time" : "connection closed without an answer");
    return r == -ETIMEDOUT ? EXIT_TEMPFAIL : EXIT_PROTOCOL;
}

/* The answer to the request just sent, parsed, in *RESP. 0, or an exit code
 * (printed; 0 with *RESP NULL when watch_stopping). */
int watch_conn_answer(struct watch_conn *c, double timeout_s, cJSON **resp)
{
    char *line;
    int r = conn_line(c, (int)(timeout_s * 1000), &line);
    const cJSON *ok, *e;

    *resp = NULL;
    if (r)
        return line_error(r);
    *resp = cJSON_Parse(line);
    conn_consume(c, line);
    ok = cJSON_GetObjectItemCaseSensitive(*resp, "ok");
    if (!cJSON_IsBool(ok)) {
        fprintf(stderr, "lwipctl: malformed response\n");
        return EXIT_PROTOCOL;
    }
    if (!cJSON_IsTrue(ok)) {
        e = cJSON_GetObjectItemCaseSensitive(*resp, "error");
        fprintf(stderr, "lwipctl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
        return EXIT_FAILED;
    }
    return 0;
}

/* ---- arguments ----------------------------------------------------------- */

struct watch_args {
    double interval; /* stats: seconds; 0 without --interval */
    long count;      /* 0: no --count */
    bool follow;
};

/* The value of option NAME at ARGV[*I] ("--name V" or "--name=V"), moving
 * *I past it; NULL when ARGV[*I] is not NAME. *MISSING when it lacks one. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* COMMAND's words after the command into W. 0, or EXIT_USAGE (printed). */
static int parse_args(int argc, char **argv, bool stats, struct watch_args *w)
{
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        char *end;

        if (!stats && (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)) {
            w->follow = true;
        } else if (stats && (v = opt_value(argc, argv, &i, "--interval", &missing))) {
            w->interval = strtod(v, &end);
            if (end == v || *end || !(w->interval >= 0.01 && w->interval <= 3600)) {
                fprintf(stderr, "lwipctl: --interval: '%s' is not 0.01-3600 seconds\n", v);
                return EXIT_USAGE;
            }
        } else if ((v = opt_value(argc, argv, &i, "--count", &missing))) {
            w->count = strtol(v, &end, 10);
            if (end == v || *end || w->count < 1 || w->count > 1000000000) {
                fprintf(stderr, "lwipctl: --count: '%s' is not a positive number\n", v);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "lwipctl: %s %s\n", argv[i],
                    missing ? "needs a value"
                    : stats ? "is not an option of stats (--interval S [--count N])"
                            : "is not an option of events ([--follow] [--count N])");
            return EXIT_USAGE;
        }
    }
    if (stats && w->interval == 0) {
        fprintf(stderr, "lwipctl: stats --count needs --interval S\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- events ---------------------------------------------------------------- */

/* The end of the JSON object or array starting at P (just past its closing
 * bracket), or NULL if it does not end in the string. */
static const char *json_end(const char *p)
{
    int depth = 0;
    bool str = false;

    for (; *p; p++) {
        if (str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                str = false;
        } else if (*p == '"') {
            str = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The text of the number member KEY of the flat JSON object TEXT, as it
 * is written there (a double would round a timestamp in ns), or NULL. */
static char *raw_number(const char *text, const char *key)
{
    char pat[80];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(text, pat);
    return p ? strndup(p + strlen(pat), strspn(p + strlen(pat), "-+.0123456789eE")) : NULL;
}

/* Print the event whose JSON is P (LEN bytes): as it is with --json (the
 * events log's line), else "time #seq type key=value ...". */
static bool print_event(const char *p, size_t len, bool json)
{
    char line[1024], *text;
    cJSON *e;
    size_t off;

    if (json)
        return watch_out_line(p, len);
    text = strndup(p, len);
    e = text ? cJSON_Parse(text) : NULL;
    /* ts_ns from the text: exact, where cJSON's double is not */
    const char *ts = text ? strstr(text, "\"ts_ns\":") : NULL;
    unsigned long long ns = ts ? strtoull(ts + 8, NULL, 10) : 0;
    time_t sec = (time_t)(ns / 1000000000ull);
    struct tm tm;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");

    localtime_r(&sec, &tm);
    off = strftime(line, sizeof(line), "%H:%M:%S", &tm);
    off += (size_t)snprintf(line + off, sizeof(line) - off, ".%06llu #%.0f %s",
                            (ns % 1000000000ull) / 1000, cJSON_IsNumber(seq) ? seq->valuedouble : 0,
                            cJSON_IsString(type) ? type->valuestring : "?");
    for (const cJSON *f = e ? e->child : NULL; f && off < sizeof(line); f = f->next) {
        const char *k = f->string;
        char *v;

        if (!strcmp(k, "api") || !strcmp(k, "seq") || !strcmp(k, "ts_ns") || !strcmp(k, "type"))
            continue;
        v = cJSON_IsString(f)   ? strdup(f->valuestring)
            : cJSON_IsNumber(f) ? raw_number(text, k)
                                : cJSON_PrintUnformatted(f);
        off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%s", k, v ? v : "?");
        free(v);
    }
    cJSON_Delete(e);
    free(text);
    return watch_out_line(line, off < sizeof(line) ? off : sizeof(line) - 1);
}

/* Print every event of the answer LINE's "events" array. */
static bool print_events(const char *line, bool json)
{
    const char *p = strstr(line, "\"events\":[");

    for (p = p ? p + 10 : ""; *p == '{' || *p == ','; p++) {
        const char *end = *p == '{' ? json_end(p) : NULL;

        if (!end)
            continue;
        if (!print_event(p, (size_t)(end - p), json))
            return false;
        p = end - 1;
    }
    return true;
}

/* Ask for the recent events (COUNT of them, 0: the daemon's default) and
 * print them; the last one's seq in *LAST. 0, or an exit code. */
static int events_recent(struct watch_conn *c, long count, double timeout, bool json, double *last)
{
    cJSON *req = cJSON_CreateObject();
    char *line;
    int r;

    cJSON_AddStringToObject(req, "cmd", "events");
    if (count)
        cJSON_AddNumberToObject(req, "count", (double)count);
    if ((r = watch_conn_send(c, req)) != 0)
        return r;
    if ((r = conn_line(c, (int)(timeout * 1000), &line)) != 0)
        return line_error(r);
    cJSON *resp = cJSON_Parse(line);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(resp, "last_seq");

    if (!cJSON_IsTrue(ok) || !cJSON_IsNumber(ls)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
        fprintf(stderr, "lwipctl: %s\n", cJSON_IsString(e) ? e->valuestring : "malformed response");
        r = cJSON_IsBool(ok) ? EXIT_FAILED : EXIT_PROTOCOL;
    } else {
        *last = ls->valuedouble;
        print_events(line, json);
    }
    cJSON_Delete(resp);
    conn_consume(c, line);
    return r;
}

/* events --follow: the last few, then each new one until COUNT new ones
 * (if set), Ctrl-C, or lwipd watch_stopping. */
static int events_follow(struct watch_conn *c, long count, double timeout, bool json)
{
    double last = 0;
    cJSON *req;
    char *line;
    int r = events_recent(c, FOLLOW_BACKLOG, timeout, json, &last);

    if (r || watch_stopping)
        return r;
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "cmd", "events");
    cJSON_AddBoolToObject(req, "follow", 1);
    cJSON_AddNumberToObject(req, "since", last); /* nothing lost in between */
    if (count)
        cJSON_AddNumberToObject(req, "count", (double)count);
    if ((r = watch_conn_send(c, req)) != 0)
        return r;
    while ((r = conn_line(c, -1, &line)) == 0) {
        const char *ev = strstr(line, "\"event\":{");

        if (ev) { /* a progress line */
            const char *end = json_end(ev + 8);
            bool more = !end || print_event(ev + 8, (size_t)(end - ev - 8), json);

            conn_consume(c, line);
            if (!more)
                return 0;
            continue;
        }
        cJSON *resp = cJSON_Parse(line); /* the answer: the end */
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");

        r = cJSON_IsTrue(ok) ? 0 : cJSON_IsBool(ok) ? EXIT_FAILED : EXIT_PROTOCOL;
        if (r)
            fprintf(stderr, "lwipctl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
        cJSON_Delete(resp);
        return r;
    }
    return line_error(r);
}

/* lwipctl's watch commands, on ARGV (the command and its words, global
 * options taken out): stats with options, events. Returns the exit code, or
 * -1 when ARGV is none of them (lwipctl's one request goes then). */
int lwipctl_watch(int argc, char **argv, const char *sock, bool json, double timeout)
{
    struct watch_args w = {0};
    bool stats = strcmp(argv[0], "stats") == 0;
    struct watch_conn c = {.fd = -1};
    int r;

    if (!(stats && argc > 1) && strcmp(argv[0], "events") != 0)
        return -1;
    if ((r = parse_args(argc, argv, stats, &w)) != 0)
        return r;
    catch_signals();
    if ((r = conn_open(&c, sock)) != 0)
        return r;
    if (stats) {
        r = watch_stats(&c, w.interval, w.count, json, timeout);
    } else if (w.follow) {
        r = events_follow(&c, w.count, timeout, json);
    } else {
        double last;
        r = events_recent(&c, w.count, timeout, json, &last);
    }
    conn_close(&c);
    return r;
}
