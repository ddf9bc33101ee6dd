/* SPDX-License-Identifier: MIT */
/* A sockets-API TCP server running inside lwipd, in the shape of a DoIP
 * server: an accept thread, one worker thread per connection, requests
 * framed by a 4-byte big-endian length. Each request is answered with the
 * same framing and the payload "ACK:" + request; a request longer than
 * MAX_REQUEST gets "ERR:too long" and the connection is closed.
 *
 * ARGS (after ':' in --app PATH:ARGS), comma-separated:
 *   port=N   the TCP port (default 13400, DoIP's)
 *   fail     make start() fail (exercises lwipd's start-failure path)
 *
 * Counters: connections, clients (now), requests, bytes_in, bytes_out,
 * errors. Command: `lwipctl app sockets_server clients`.
 */
#include <lwipd/app.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/sockets.h"

#define MAX_REQUEST 4096
#define POLL_MS     100 /* how often the threads look at lwipd_app_stopping() */

/* LWIPD_APP_DEFINE's symbol must stay visible: the module is built with
 * hidden visibility, and the descriptor macro marks it default. The
 * functions below are visible too, so that crash reports name them. */
#define EXPORT __attribute__((visibility("default")))

static struct {
    struct lwipd_app *app;
    uint16_t port;
    atomic_int clients;
    atomic_ullong connections;
    struct lwipd_app_counter *c_connections, *c_clients, *c_requests, *c_bytes_in, *c_bytes_out,
        *c_errors;
} srv;

struct conn {
    int fd;
    unsigned long id;
};

/* Wait until FD is readable, polling lwipd_app_stopping(). 1 readable, 0
 * stopping, -1 error. */
static int wait_readable(int fd)
{
    while (!lwipd_app_stopping(srv.app)) {
        struct timeval tv = {0, POLL_MS * 1000};
        fd_set rd;
        int n;

        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        n = lwip_select(fd + 1, &rd, NULL, NULL, &tv);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* Read exactly LEN bytes. 1 done, 0 peer closed or stopping, -1 error. */
EXPORT int sockapp_read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        int r = wait_readable(fd);
        ssize_t n;

        if (r <= 0)
            return r;
        n = lwip_recv(fd, (char *)buf + got, len - got, 0);
        if (n == 0)
            return 0;
        if (n < 0)
            return errno == EINTR || errno == EAGAIN ? 0 : -1;
        got += (size_t)n;
        lwipd_app_counter_add(srv.c_bytes_in, (uint64_t)n);
    }
    return 1;
}

/* Send the frame: 4-byte length, then HEAD and the LEN bytes of BODY
 * (LEN <= MAX_REQUEST). 0 or -1. */
EXPORT int sockapp_send_frame(int fd, const char *head, const void *body, size_t len)
{
    unsigned char frame[4 + 16 + MAX_REQUEST];
    size_t hlen = strlen(head), total = hlen + len, off = 0;

    frame[0] = (unsigned char)(total >> 24);
    frame[1] = (unsigned char)(total >> 16);
    frame[2] = (unsigned char)(total >> 8);
    frame[3] = (unsigned char)total;
    memcpy(frame + 4, head, hlen);
    memcpy(frame + 4 + hlen, body, len);
    total += 4;
    while (off < total) {
        ssize_t n = lwip_send(fd, frame + off, total - off, 0);

        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    lwipd_app_counter_add(srv.c_bytes_out, (uint64_t)total);
    return 0;
}

/* Serve one request on FD. 1 served, 0 the connection ends, -1 error. */
EXPORT int sockapp_serve_request(int fd, unsigned char *buf)
{
    unsigned char hdr[4];
    uint32_t len;
    int r = sockapp_read_full(fd, hdr, 4);

    if (r <= 0)
        return r;
    len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (len > MAX_REQUEST) {
        sockapp_send_frame(fd, "ERR:too long", "", 0);
        lwipd_app_counter_add(srv.c_errors, 1);
        return 0;
    }
    if ((r = sockapp_read_full(fd, buf, len)) <= 0)
        return r;
    lwipd_app_counter_add(srv.c_requests, 1);
    return sockapp_send_frame(fd, "ACK:", buf, len) == 0 ? 1 : -1;
}

/* A connection's thread: serve requests until the peer leaves or the app
 * stops. */
EXPORT void sockapp_worker(void *arg)
{
    struct conn *c = arg;
    unsigned char *buf = malloc(MAX_REQUEST);
    int r = buf ? 1 : -1;

    while (r == 1)
        r = sockapp_serve_request(c->fd, buf);
    if (r < 0)
        lwipd_app_counter_add(srv.c_errors, 1);
    lwip_close(c->fd);
    lwipd_app_counter_set(srv.c_clients, (uint64_t)(atomic_fetch_sub(&srv.clients, 1) - 1));
    lwipd_app_log(srv.app, LWIPD_APP_LOG_DEBUG, "connection %lu closed", c->id);
    free(buf);
    free(c);
}

/* The accept thread: listen, then one worker per connection. */
EXPORT void sockapp_acceptor(void *arg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = lwip_htons(srv.port)};
    int one = 1, lfd = lwip_socket(AF_INET, SOCK_STREAM, 0);

    (void)arg;
    if (lfd < 0 || lwip_setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        lwip_bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || lwip_listen(lfd, 4) != 0) {
        lwipd_app_log(srv.app, LWIPD_APP_LOG_ERR, "cannot listen on %u: errno %d", srv.port, errno);
        lwipd_app_counter_add(srv.c_errors, 1);
        if (lfd >= 0)
            lwip_close(lfd);
        return;
    }
    lwipd_app_log(srv.app, LWIPD_APP_LOG_INFO, "listening on TCP %u", srv.port);
    while (wait_readable(lfd) == 1) {
        struct conn *c = malloc(sizeof(*c));
        char name[32];

        if (!c)
            break;
        c->fd = lwip_accept(lfd, NULL, NULL);
        if (c->fd < 0) {
            free(c);
            continue;
        }
        c->id = (unsigned long)atomic_fetch_add(&srv.connections, 1) + 1;
        lwipd_app_counter_add(srv.c_connections, 1);
        lwipd_app_counter_set(srv.c_clients, (uint64_t)(atomic_fetch_add(&srv.clients, 1) + 1));
        snprintf(name, sizeof(name), "sockapp-c%lu", c->id);
        if (lwipd_app_thread_new(srv.app, name, sockapp_worker, c) != 0) {
            lwip_close(c->fd);
            atomic_fetch_sub(&srv.clients, 1);
            free(c);
        }
    }
    lwip_close(lfd);
}

/* `lwipctl app sockets_server clients`: who is connected, how many were. */
static int cmd_clients(struct lwipd_app *app, int argc, char **argv, struct lwipd_app_reply *r,
                       void *arg)
{
    (void)app, (void)argv, (void)arg;
    if (argc != 1) {
        lwipd_app_reply_error(r, "clients takes no arguments");
        return -1;
    }
    lwipd_app_reply_int(r, "clients", atomic_load(&srv.clients));
    lwipd_app_reply_int(r, "connections", (long long)atomic_load(&srv.connections));
    lwipd_app_reply_int(r, "port", srv.port);
    return 0;
}

/* ARGS: "port=N", "fail", comma-separated. 0 or -EINVAL. */
static int parse_args(const char *args, int *fail)
{
    char buf[128], *save = NULL;

    srv.port = 13400;
    *fail = 0;
    snprintf(buf, sizeof(buf), "%s", args);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned long p;
        char *end;

        if (strcmp(t, "fail") == 0) {
            *fail = 1;
        } else if (strncmp(t, "port=", 5) == 0) {
            p = strtoul(t + 5, &end, 10);
            if (*end || p == 0 || p > 65535)
                return -EINVAL;
            srv.port = (uint16_t)p;
        } else {
            return -EINVAL;
        }
    }
    return 0;
}

/* In the tcpip thread, core lock held: counters, the command, the thread. */
static int server_start(struct lwipd_app *app, const char *args)
{
    int fail;

    srv.app = app;
    if (parse_args(args, &fail) != 0) {
        lwipd_app_log(app, LWIPD_APP_LOG_ERR, "bad arguments '%s' (port=N, fail)", args);
        return -EINVAL;
    }
    if (fail) {
        lwipd_app_log(app, LWIPD_APP_LOG_ERR, "start refused: asked to fail");
        return -ECANCELED;
    }
    srv.c_connections = lwipd_app_counter_new(app, "connections");
    srv.c_clients = lwipd_app_counter_new(app, "clients");
    srv.c_requests = lwipd_app_counter_new(app, "requests");
    srv.c_bytes_in = lwipd_app_counter_new(app, "bytes_in");
    srv.c_bytes_out = lwipd_app_counter_new(app, "bytes_out");
    srv.c_errors = lwipd_app_counter_new(app, "errors");
    atomic_store(&srv.clients, 0);
    atomic_store(&srv.connections, 0);
    if (lwipd_app_command_add(app, "clients", "clients connected now and connections so far",
                              cmd_clients, NULL) != 0)
        return -EINVAL;
    return lwipd_app_thread_new(app, "sockapp-accept", sockapp_acceptor, NULL);
}

/* The threads see lwipd_app_stopping() and return by themselves. */
static void server_stop(struct lwipd_app *app)
{
    lwipd_app_log(app, LWIPD_APP_LOG_INFO, "stopping; %d client(s) connected",
                  atomic_load(&srv.clients));
}

LWIPD_APP_DEFINE(sockets_server, server_start, server_stop);
