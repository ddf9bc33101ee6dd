/* SPDX-License-Identifier: MIT */
/* A sockets-API TCP server running inside lwipd, in the shape of a DoIP
 * server: one thread of its own ("sockapp") runs a select() loop over the
 * listening socket and up to MAX_CLIENTS connections. Requests are framed
 * by a 4-byte big-endian length; each is answered with the same framing
 * and the payload "ACK:" + request. A request longer than MAX_REQUEST gets
 * "ERR:too long" and the connection is closed.
 *
 * ARGS (after ':' in --app PATH:ARGS), comma-separated:
 *   port=N   the TCP port (default 13400, DoIP's)
 *   fail     make start() fail (exercises lwipd's start-failure path)
 *
 * Counters: connections, clients (now), requests, bytes_in, bytes_out,
 * errors. Command: `lwipctl app sockets_server clients`. The thread's name
 * can be given to `lwipd --irq-target sockapp`.
 */
#include <lwipd/app.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/sockets.h"

#define MAX_CLIENTS 8
#define MAX_REQUEST 4096
#define POLL_MS     100 /* how often the thread looks at lwipd_app_stopping() */

/* The descriptor (LWIPD_APP_DEFINE) is visible whatever the module's
 * default visibility; these functions are made visible too, so that
 * lwipd's crash reports can name them in a stack. */
#define EXPORT __attribute__((visibility("default")))

/* One connection: the bytes of the request being received. */
struct conn {
    int fd; /* -1: free slot */
    size_t have;
    unsigned char buf[4 + MAX_REQUEST];
};

static struct {
    struct lwipd_app *app;
    uint16_t port;
    atomic_int clients;
    atomic_ullong connections;
    struct conn conns[MAX_CLIENTS];
    struct lwipd_app_counter *c_connections, *c_clients, *c_requests, *c_bytes_in, *c_bytes_out,
        *c_errors;
} srv;

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

static void conn_close(struct conn *c)
{
    lwip_close(c->fd);
    c->fd = -1;
    lwipd_app_counter_set(srv.c_clients, (uint64_t)(atomic_fetch_sub(&srv.clients, 1) - 1));
}

/* C is readable: take what arrived, answer every complete request. 0, or
 * -1 when the connection is to be closed. */
EXPORT int sockapp_serve(struct conn *c)
{
    ssize_t n = lwip_recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, MSG_DONTWAIT);
    uint32_t len;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    lwipd_app_counter_add(srv.c_bytes_in, (uint64_t)n);
    c->have += (size_t)n;
    while (c->have >= 4) {
        len = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 |
              c->buf[3];
        if (len > MAX_REQUEST) {
            sockapp_send_frame(c->fd, "ERR:too long", "", 0);
            lwipd_app_counter_add(srv.c_errors, 1);
            return -1;
        }
        if (c->have < 4 + len)
            break;
        lwipd_app_counter_add(srv.c_requests, 1);
        if (sockapp_send_frame(c->fd, "ACK:", c->buf + 4, len) != 0) {
            lwipd_app_counter_add(srv.c_errors, 1);
            return -1;
        }
        memmove(c->buf, c->buf + 4 + len, c->have - 4 - len);
        c->have -= 4 + len;
    }
    return 0;
}

/* The listening socket is readable: take the connection into a free slot
 * (none free: refuse it by closing). */
static void accept_one(int lfd)
{
    int fd = lwip_accept(lfd, NULL, NULL);

    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (srv.conns[i].fd < 0) {
            srv.conns[i].fd = fd;
            srv.conns[i].have = 0;
            atomic_fetch_add(&srv.connections, 1);
            lwipd_app_counter_add(srv.c_connections, 1);
            lwipd_app_counter_set(srv.c_clients, (uint64_t)(atomic_fetch_add(&srv.clients, 1) + 1));
            return;
        }
    }
    lwipd_app_counter_add(srv.c_errors, 1);
    lwip_close(fd);
}

static int listen_on(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = lwip_htons(port)};
    int one = 1, fd = lwip_socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || lwip_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        lwip_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || lwip_listen(fd, 4) != 0) {
        lwipd_app_log(srv.app, LWIPD_APP_LOG_ERR, "cannot listen on %u: errno %d", port, errno);
        if (fd >= 0)
            lwip_close(fd);
        return -1;
    }
    return fd;
}

/* The server's thread: a select() loop until lwipd stops the app. */
EXPORT void sockapp_loop(void *arg)
{
    int lfd = listen_on(srv.port);

    (void)arg;
    if (lfd < 0) {
        lwipd_app_counter_add(srv.c_errors, 1);
        return;
    }
    lwipd_app_log(srv.app, LWIPD_APP_LOG_INFO, "listening on TCP %u", srv.port);
    while (!lwipd_app_stopping(srv.app)) {
        struct timeval tv = {0, POLL_MS * 1000};
        int maxfd = lfd;
        fd_set rd;

        FD_ZERO(&rd);
        FD_SET(lfd, &rd);
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (srv.conns[i].fd >= 0) {
                FD_SET(srv.conns[i].fd, &rd);
                maxfd = srv.conns[i].fd > maxfd ? srv.conns[i].fd : maxfd;
            }
        }
        if (lwip_select(maxfd + 1, &rd, NULL, NULL, &tv) <= 0)
            continue;
        if (FD_ISSET(lfd, &rd))
            accept_one(lfd);
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (srv.conns[i].fd >= 0 && FD_ISSET(srv.conns[i].fd, &rd) &&
                sockapp_serve(&srv.conns[i]) != 0)
                conn_close(&srv.conns[i]);
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (srv.conns[i].fd >= 0)
            conn_close(&srv.conns[i]);
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

/* In the tcpip thread, core lock held: counters, the command, the thread
 * (the sockets API is for the thread: not usable here). */
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
    for (int i = 0; i < MAX_CLIENTS; i++)
        srv.conns[i].fd = -1;
    if (lwipd_app_command_add(app, "clients", "clients connected now and connections so far",
                              cmd_clients, NULL) != 0)
        return -EINVAL;
    return lwipd_app_thread_new(app, "sockapp", sockapp_loop, NULL);
}

/* The thread sees lwipd_app_stopping() and returns by itself. */
static void server_stop(struct lwipd_app *app)
{
    lwipd_app_log(app, LWIPD_APP_LOG_INFO, "stopping; %d client(s) connected",
                  atomic_load(&srv.clients));
}

LWIPD_APP_DEFINE(sockets_server, server_start, server_stop);
