/* SPDX-License-Identifier: MIT */
/* lwipd-churn --serve: a kernel TCP echo listener on libevent, the
 * reference a benchmark compares lwIP's churn server with. */
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwipd_churn.h"

struct server {
    struct event_base *base;
    uint64_t accepted, closed, bytes;
    char buf[IOBUF];
};

struct sconn {
    struct server *srv;
    struct event *ev;
    int fd;
};

static void sconn_close(struct sconn *sc)
{
    sc->srv->closed++;
    event_free(sc->ev);
    close(sc->fd);
    free(sc);
}

static void on_sconn(evutil_socket_t fd, short what, void *arg)
{
    struct sconn *sc = arg;
    ssize_t n = recv(fd, sc->srv->buf, IOBUF, 0);

    (void)what;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        sconn_close(sc);
        return;
    }
    sc->srv->bytes += (uint64_t)n;
    if (send(fd, sc->srv->buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        sconn_close(sc);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct server *srv = arg;
    struct sconn *sc = calloc(1, sizeof(*sc));
    int one = 1;

    (void)l, (void)sa, (void)salen;
    if (!sc) {
        close(fd);
        return;
    }
    srv->accepted++;
    sc->srv = srv;
    sc->fd = fd;
    evutil_make_socket_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sc->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_sconn, sc);
    if (!sc->ev || event_add(sc->ev, NULL) != 0) {
        close(fd);
        free(sc);
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

/* Listen on ADDR and echo whatever comes, for TIME_S seconds or until
 * SIGTERM; print {"listening":PORT} once ready and the totals at the end.
 * 0, or 1 when it cannot listen (said on stderr). */
int churn_serve(const struct sockaddr_in *addr, double time_s)
{
    struct server srv = {0};
    struct evconnlistener *l;
    struct event *stop, *sigterm;
    struct timeval tv = {(time_t)time_s, (suseconds_t)((time_s - (double)(time_t)time_s) * 1e6)};

    srv.base = event_base_new();
    l = evconnlistener_new_bind(srv.base, on_accept, &srv,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                1024, (struct sockaddr *)addr, sizeof(*addr));
    if (!l) {
        fprintf(stderr, "lwipd-churn: cannot listen: %s\n", strerror(errno));
        return 1;
    }
    stop = evtimer_new(srv.base, on_stop, srv.base);
    sigterm = evsignal_new(srv.base, SIGTERM, on_stop, srv.base);
    evtimer_add(stop, &tv);
    evsignal_add(sigterm, NULL);
    printf("{\"listening\":%u}\n", ntohs(addr->sin_port));
    fflush(stdout);
    event_base_dispatch(srv.base);
    printf("{\"accepted\":%llu,\"closed\":%llu,\"bytes\":%llu}\n", (unsigned long long)srv.accepted,
           (unsigned long long)srv.closed, (unsigned long long)srv.bytes);
    evconnlistener_free(l);
    event_free(stop);
    event_free(sigterm);
    event_base_free(srv.base);
    return 0;
}
