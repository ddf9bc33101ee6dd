/* SPDX-License-Identifier: MIT */
/* Unit tests for daemon/control.c through its public interface: a real
 * listening socket in a private directory, an event loop the test pumps
 * itself, and plain client sockets. Line framing (a request split across
 * reads, several in one read), the line limit, the client limit, deferred
 * answers kept in request order, and control_new()'s refusals.
 *
 * The test writes and the daemon side reads in the same thread: a client
 * socket is non-blocking and every wait pumps the loop (EVLOOP_NONBLOCK)
 * until its condition holds, bounded. That the daemon has read all a client
 * wrote is seen on the client's socket: SIOCOUTQ drops to 0 once the peer
 * has consumed the bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/control.h"
#include "base/log.h"

#define WAIT_MS    5000 /* every bounded wait */
#define MAX_LINES  256
#define LINE_START 64 /* how much of each line the handler keeps */

struct fixture {
    struct event_base *base;
    struct control *ctl;
    char dir[64];
    char path[108];
    /* what the handler saw */
    int calls;
    size_t lens[MAX_LINES];
    char starts[MAX_LINES][LINE_START];
    struct control_reply *deferred; /* the handler's promise for a "defer" line */
};

struct conn {
    int fd;
    char buf[4096];
    size_t have;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};

    nanosleep(&ts, NULL);
}

/* Answers {"ok":true,"n":CALL,"len":LEN}; a line "defer" is promised for
 * later instead (control_defer()). */
static char *handler(void *arg, struct control_req *req, const char *line, size_t len)
{
    struct fixture *f = arg;
    char *out;
    int n = f->calls++;

    if (n < MAX_LINES) {
        f->lens[n] = len;
        snprintf(f->starts[n], LINE_START, "%.*s", (int)(len < LINE_START ? len : LINE_START - 1),
                 line);
    }
    if (len == 5 && memcmp(line, "defer", 5) == 0) {
        f->deferred = control_defer(req);
        assert_non_null(f->deferred);
        return NULL;
    }
    if (asprintf(&out, "{\"ok\":true,\"n\":%d,\"len\":%zu}", n, len) < 0)
        return NULL;
    return out;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[200];

    assert_non_null(f);
    log_level_current = LOG_ERR; /* every connection is logged at info */
    snprintf(f->dir, sizeof(f->dir), "/tmp/lwipd-unit-control-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/c.sock", f->dir);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->ctl = control_new(f->base, f->path, 0600, handler, f, err, sizeof(err));
    assert_non_null(f->ctl);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    control_free(f->ctl);
    assert_int_equal(stat(f->path, &st), -1); /* control_free() removed the socket file */
    event_base_free(f->base);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void pump(struct fixture *f)
{
    event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static struct conn *conn_open(struct fixture *f)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct conn *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    memcpy(sun.sun_path, f->path, strlen(f->path));
    /* The listen backlog takes it at once; the loop accepts it later. */
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    return c;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

/* Write all of DATA, pumping the loop while the socket is full. */
static void conn_send(struct fixture *f, struct conn *c, const void *data, size_t len)
{
    const char *p = data;
    uint64_t deadline = now_ms() + WAIT_MS;

    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        if (now_ms() > deadline)
            fail_msg("the daemon side stopped reading");
        pump(f);
        pause_ms(1);
    }
}

static void conn_send_str(struct fixture *f, struct conn *c, const char *s)
{
    conn_send(f, c, s, strlen(s));
}

/* Pump until the daemon side has read everything C wrote. */
static void wait_consumed(struct fixture *f, struct conn *c)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    int queued;

    for (;;) {
        pump(f);
        assert_int_equal(ioctl(c->fd, SIOCOUTQ, &queued), 0);
        if (queued == 0)
            return;
        if (now_ms() > deadline)
            fail_msg("%d bytes never read by the daemon side", queued);
        pause_ms(1);
    }
}

/* Pump until a whole line arrives on C; returns it (without the newline,
 * valid until the next call), or NULL at EOF. Fails after WAIT_MS. */
static const char *conn_read_line(struct fixture *f, struct conn *c)
{
    static char line[sizeof(c->buf)];
    uint64_t deadline = now_ms() + WAIT_MS;

    for (;;) {
        char *nl = memchr(c->buf, '\n', c->have);

        if (nl) {
            size_t n = (size_t)(nl - c->buf);

            memcpy(line, c->buf, n);
            line[n] = '\0';
            c->have -= n + 1;
            memmove(c->buf, nl + 1, c->have);
            return line;
        }
        assert_true(c->have < sizeof(c->buf));
        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
        if (r > 0) {
            c->have += (size_t)r;
            continue;
        }
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return NULL;
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        if (now_ms() > deadline)
            fail_msg("no answer within %d ms", WAIT_MS);
        pump(f);
        pause_ms(1);
    }
}

static void expect_line(struct fixture *f, struct conn *c, const char *want)
{
    const char *got = conn_read_line(f, c);

    if (!got || strcmp(got, want) != 0)
        fail_msg("expected '%s', got '%s'", want, got ? got : "(EOF)");
}

static void expect_eof(struct fixture *f, struct conn *c)
{
    const char *got = conn_read_line(f, c);

    if (got)
        fail_msg("expected the connection closed, got '%s'", got);
}

/* Nothing more arrives on C while the loop runs for MS. */
static void expect_silence(struct fixture *f, struct conn *c, int ms)
{
    uint64_t until = now_ms() + (uint64_t)ms;
    char b;

    while (now_ms() < until) {
        pump(f);
        ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
        if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            fail_msg("unexpected data or EOF (%zd)", r);
        pause_ms(1);
    }
}

static void wait_clients(struct fixture *f, unsigned n)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    while (control_clients(f->ctl) != n) {
        if (now_ms() > deadline)
            fail_msg("%u clients, expected %u", control_clients(f->ctl), n);
        pump(f);
        pause_ms(1);
    }
}

/* ---- line framing --------------------------------------------------------- */

static void test_request_split_across_reads(void **state)
{
    struct fixture *f = *state;
    struct conn *c = conn_open(f);

    conn_send_str(f, c, "{\"cmd\":");
    wait_consumed(f, c);           /* the daemon read the first part ... */
    assert_int_equal(f->calls, 0); /* ... and did not take it for a line */
    conn_send_str(f, c, "\"status\"");
    wait_consumed(f, c);
    assert_int_equal(f->calls, 0);
    conn_send_str(f, c, "}\n");
    expect_line(f, c, "{\"ok\":true,\"n\":0,\"len\":16}");
    assert_int_equal(f->calls, 1);
    assert_string_equal(f->starts[0], "{\"cmd\":\"status\"}");
    /* The next request's start may come with the end of one: each is
     * answered once whole. */
    conn_send_str(f, c, "first\nsec");
    wait_consumed(f, c);
    expect_line(f, c, "{\"ok\":true,\"n\":1,\"len\":5}");
    assert_int_equal(f->calls, 2);
    conn_send_str(f, c, "ond\n");
    expect_line(f, c, "{\"ok\":true,\"n\":2,\"len\":6}");
    assert_string_equal(f->starts[2], "second");
    conn_close(c);
}

static void test_several_requests_in_one_read(void **state)
{
    struct fixture *f = *state;
    struct conn *c = conn_open(f);
    const char batch[] = "a\nbb\n\nccc\r\n";
    char want[64];

    conn_send(f, c, batch, sizeof(batch) - 1); /* one write: arrives as one read */
    wait_consumed(f, c);
    /* Every line, in order, with its own answer; an empty line is a request
     * too (the handler answers it), and "\r" is left to the handler. */
    const size_t lens[] = {1, 2, 0, 4};
    for (int i = 0; i < 4; i++) {
        snprintf(want, sizeof(want), "{\"ok\":true,\"n\":%d,\"len\":%zu}", i, lens[i]);
        expect_line(f, c, want);
    }
    assert_int_equal(f->calls, 4);
    assert_string_equal(f->starts[1], "bb");
    assert_string_equal(f->starts[3], "ccc\r");
    conn_close(c);
}

/* ---- the line limit -------------------------------------------------------- */

static void test_line_of_the_limit_is_served(void **state)
{
    struct fixture *f = *state;
    struct conn *c = conn_open(f);
    char *big = malloc(CONTROL_MAX_LINE + 1);
    char want[64];

    assert_non_null(big);
    memset(big, 'x', CONTROL_MAX_LINE);
    big[CONTROL_MAX_LINE] = '\n';
    conn_send(f, c, big, CONTROL_MAX_LINE + 1);
    snprintf(want, sizeof(want), "{\"ok\":true,\"n\":0,\"len\":%d}", CONTROL_MAX_LINE);
    expect_line(f, c, want);
    conn_send_str(f, c, "next\n"); /* and the connection goes on */
    expect_line(f, c, "{\"ok\":true,\"n\":1,\"len\":4}");
    free(big);
    conn_close(c);
}

/* A line over the limit is answered with an error, never handed to the
 * handler, and that connection is closed once the error is written (what
 * follows the over-long line cannot be framed); the daemon goes on serving
 * every other connection and new ones. */
static void check_oversize(struct fixture *f, bool newline)
{
    struct conn *other = conn_open(f);
    struct conn *c = conn_open(f);
    size_t n = CONTROL_MAX_LINE + 1;
    char *big = malloc(n + 1);

    assert_non_null(big);
    memset(big, 'y', n);
    big[n] = '\n';
    conn_send_str(f, other, "before\n");
    expect_line(f, other, "{\"ok\":true,\"n\":0,\"len\":6}");
    conn_send(f, c, big, newline ? n + 1 : n);
    expect_line(f, c, "{\"ok\":false,\"api\":1,\"error\":\"request line too long\"}");
    expect_eof(f, c);
    assert_int_equal(f->calls, 1); /* only "before" */
    conn_send_str(f, other, "after\n");
    expect_line(f, other, "{\"ok\":true,\"n\":1,\"len\":5}");
    conn_close(c);
    c = conn_open(f);
    conn_send_str(f, c, "new\n");
    expect_line(f, c, "{\"ok\":true,\"n\":2,\"len\":3}");
    wait_clients(f, 2);
    free(big);
    conn_close(c);
    conn_close(other);
}

static void test_oversize_line_without_newline_refused(void **state)
{
    check_oversize(*state, false);
}

static void test_oversize_line_with_newline_refused(void **state)
{
    check_oversize(*state, true);
}

/* ---- the client limit ------------------------------------------------------ */

static void test_client_limit(void **state)
{
    struct fixture *f = *state;
    struct conn *c[CONTROL_MAX_CLIENTS];
    struct conn *extra;

    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        c[i] = conn_open(f);
    wait_clients(f, CONTROL_MAX_CLIENTS);
    extra = conn_open(f);
    expect_line(f, extra, "{\"ok\":false,\"api\":1,\"error\":\"too many clients\"}");
    expect_eof(f, extra);
    wait_clients(f, CONTROL_MAX_CLIENTS);
    conn_close(extra);
    /* Everybody admitted is served. */
    conn_send_str(f, c[0], "x\n");
    expect_line(f, c[0], "{\"ok\":true,\"n\":0,\"len\":1}");
    conn_send_str(f, c[CONTROL_MAX_CLIENTS - 1], "y\n");
    expect_line(f, c[CONTROL_MAX_CLIENTS - 1], "{\"ok\":true,\"n\":1,\"len\":1}");
    /* A client that hung up frees its place even before the loop has seen
     * it go: close and reconnect without pumping in between. */
    conn_close(c[5]);
    c[5] = conn_open(f);
    conn_send_str(f, c[5], "z\n");
    expect_line(f, c[5], "{\"ok\":true,\"n\":2,\"len\":1}");
    wait_clients(f, CONTROL_MAX_CLIENTS);
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        conn_close(c[i]);
    wait_clients(f, 0);
}

/* ---- deferred answers ------------------------------------------------------- */

static void *send_later(void *arg)
{
    struct control_reply *r = arg;

    control_reply_send(r, strdup("{\"ok\":true,\"deferred\":true}"));
    return NULL;
}

static void test_deferred_answer_keeps_request_order(void **state)
{
    struct fixture *f = *state;
    struct conn *c = conn_open(f);
    struct conn *other = conn_open(f);
    pthread_t t;

    conn_send_str(f, c, "defer\nafter\n");
    wait_consumed(f, c);
    assert_int_equal(f->calls, 1); /* "after" waits for the promised answer */
    assert_non_null(f->deferred);
    conn_send_str(f, other, "meanwhile\n"); /* other clients are not held up */
    expect_line(f, other, "{\"ok\":true,\"n\":1,\"len\":9}");
    expect_silence(f, c, 50);
    assert_int_equal(pthread_create(&t, NULL, send_later, f->deferred), 0); /* any thread */
    pthread_join(t, NULL);
    expect_line(f, c, "{\"ok\":true,\"deferred\":true}");
    expect_line(f, c, "{\"ok\":true,\"n\":2,\"len\":5}");
    conn_close(other);
    conn_close(c);
}

/* A client that leaves before its deferred answer: the answer is dropped
 * when it comes, and nothing else is disturbed. */
static void test_deferred_answer_to_a_departed_client(void **state)
{
    struct fixture *f = *state;
    struct conn *c = conn_open(f);
    struct conn *other;

    conn_send_str(f, c, "defer\n");
    wait_consumed(f, c);
    assert_non_null(f->deferred);
    conn_close(c);
    wait_clients(f, 0);
    control_reply_send(f->deferred, strdup("{\"ok\":true}"));
    other = conn_open(f);
    conn_send_str(f, other, "still\n");
    expect_line(f, other, "{\"ok\":true,\"n\":1,\"len\":5}");
    conn_close(other);
}

/* ---- control_new() ----------------------------------------------------------- */

static void test_new_mode_refusals_and_stale_file(void **state)
{
    struct fixture *f = *state;
    struct control *c2;
    struct stat st;
    char path[200], err[300];
    int fd;

    /* The socket has the mode asked for (lwipd's default: 0600). */
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A live socket is not taken over. */
    c2 = control_new(f->base, f->path, 0600, handler, f, err, sizeof(err));
    assert_null(c2);
    assert_int_equal(errno, EADDRINUSE);
    assert_non_null(strstr(err, "in use"));
    /* A path sockaddr_un cannot hold. */
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    c2 = control_new(f->base, path, 0600, handler, f, err, sizeof(err));
    assert_null(c2);
    assert_int_equal(errno, ENAMETOOLONG);
    /* A stale socket file (nobody listening) is replaced, with the mode
     * asked for. */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
    memcpy(sun.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    c2 = control_new(f->base, path, 0660, handler, f, err, sizeof(err));
    assert_non_null(c2);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    control_free(c2);
    assert_int_equal(stat(path, &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_split_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_requests_in_one_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_of_the_limit_is_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_line_without_newline_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oversize_line_with_newline_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_answer_keeps_request_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_answer_to_a_departed_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_mode_refusals_and_stale_file, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
