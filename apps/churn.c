/* SPDX-License-Identifier: MIT */
/* Socket churn server on lwIP's sockets API: the select/close socket leak
 * scenario (three threads sharing the client sockets, as a DoIP stack does).
 *
 * Design note
 * -----------
 * Three threads share the client sockets, as in the DoIP stack where the
 * select/close socket leak was found:
 * - the acceptor blocks in lwip_accept() and hands each new socket over;
 * - the selector runs lwip_select() with a timeout over every live client
 *   socket, echoes what arrives and counts requests;
 * - the closer closes sockets on its own schedule: when the peer has gone
 *   (at once, or lazily after idle_ms with linger_peer_gone), when a socket
 *   has been idle for idle_ms, after close_after requests, or at random.
 *   It does not wait for the selector, so it regularly closes a socket that
 *   the selector is sleeping on - the race that leaks a slot's
 *   select_waiting counter in lwIP 2.0.2/2.0.3 and that trips the
 *   alloc_socket() assert in 2.1+ with LWIP_NETCONN_FULLDUPLEX=0.
 * Data I/O and close never overlap on one socket (a connection the selector
 * is reading is "busy" and the closer skips it), as in any sane program;
 * only select and close overlap. --churn-serialize applies that stack's
 * workaround: the closer announces a batch, waits until no select runs, and
 * the selector does not start one while the batch is being closed.
 *
 * This file uses lwIP's sockets API only (LWIP_COMPAT_SOCKETS is 0): no host
 * socket header may be included here.
 */
#include "lwipd_config.h"
#include "apps/churn.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwip/sockets.h"
#include "lwip/sys.h"

#include "base/log.h"
#include "base/base.h"

#define CHURN_SLOTS   MEMP_NUM_NETCONN /* lwIP's NUM_SOCKETS */
#define CHURN_BACKLOG 64
#define CHURN_BUF     2048

enum conn_state {
    CONN_FREE,
    CONN_LIVE,      /* in the selector's set */
    CONN_PEER_GONE, /* EOF or error seen: out of the set, to be closed */
    CONN_CLOSING,   /* picked by the closer */
};

struct conn {
    enum conn_state state;
    bool busy; /* the selector is reading or writing it */
    uint64_t last_ns;
    uint32_t requests;
};

static struct {
    struct churn_config cfg;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int listen_fd;
    bool running;
    struct conn conns[CHURN_SLOTS];
    uint64_t slot_closes_during_select[CHURN_SLOTS];
    /* the selector's current set, published while it is inside lwip_select() */
    fd_set sel_set;
    bool sel_active;
    bool close_pending; /* serialize: the closer waits for the selector */
    bool closing;       /* serialize: the closer is closing a batch */
    struct churn_stats st;
} churn = {
    .m = PTHREAD_MUTEX_INITIALIZER,
    .listen_fd = -1,
};

static void errcount_add(struct churn_errcount *tab, int err)
{
    for (int i = 0; i < CHURN_ERRNO_SLOTS; i++) {
        if (tab[i].n == 0 || tab[i].err == err) {
            tab[i].err = err;
            tab[i].n++;
            return;
        }
    }
    tab[CHURN_ERRNO_SLOTS - 1].n++; /* too many kinds: lump the rest */
}

static int slot_of(int fd)
{
    int i = fd - LWIP_SOCKET_OFFSET;

    return i >= 0 && i < CHURN_SLOTS ? i : -1;
}

/* Wait on the condition for at most MS, on the monotonic clock (churn.cv
 * is made for it in churn_start()): a wall clock set back must not make
 * the wait last until it catches up. */
static void cv_wait_ms(unsigned ms)
{
    struct timespec ts;

    base_deadline_after_ms(&ts, CLOCK_MONOTONIC, ms);
    pthread_cond_timedwait(&churn.cv, &churn.m, &ts);
}

/* ---- acceptor ------------------------------------------------------------ */

static int listen_socket(void)
{
    struct sockaddr_in sin;
    int one = 1;
    int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        pthread_mutex_lock(&churn.m);
        errcount_add(churn.st.socket_fail, errno);
        pthread_mutex_unlock(&churn.m);
        return -errno;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = lwip_htons(churn.cfg.port);
    sin.sin_addr.s_addr = PP_HTONL(INADDR_ANY);
    lwip_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lwip_bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        lwip_listen(fd, CHURN_BACKLOG) != 0) {
        int err = errno;
        lwip_close(fd);
        return -err;
    }
    return fd;
}

static void acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = lwip_accept(churn.listen_fd, NULL, NULL);
        int i = fd >= 0 ? slot_of(fd) : -1;

        pthread_mutex_lock(&churn.m);
        if (fd < 0) {
            errcount_add(churn.st.accept_fail, errno);
        } else if (i < 0 || churn.conns[i].state != CONN_FREE) {
            /* lwIP gave out a slot we still think is open: count it loudly. */
            errcount_add(churn.st.accept_fail, EEXIST);
            pthread_mutex_unlock(&churn.m);
            lwip_close(fd);
            continue;
        } else {
            churn.conns[i] = (struct conn){.state = CONN_LIVE, .last_ns = base_now_ns()};
            churn.st.accepted++;
            churn.st.in_use++;
            if (churn.st.in_use > churn.st.max_in_use)
                churn.st.max_in_use = churn.st.in_use;
            pthread_cond_broadcast(&churn.cv);
        }
        pthread_mutex_unlock(&churn.m);
        if (fd < 0)
            sys_msleep(1); /* a failing accept must not spin */
    }
}

/* ---- selector ------------------------------------------------------------ */

/* Build the read set from the live sockets (under churn.m). Returns maxfd+1. */
static int build_set(fd_set *set)
{
    int maxfd = -1;

    FD_ZERO(set);
    for (int i = 0; i < CHURN_SLOTS; i++) {
        if (churn.conns[i].state == CONN_LIVE) {
            int fd = i + LWIP_SOCKET_OFFSET;
            FD_SET(fd, set);
            if (fd > maxfd)
                maxfd = fd;
        }
    }
    return maxfd + 1;
}

/* Read what arrived on slot I and echo it back. */
static void service(int i, char *buf)
{
    int fd = i + LWIP_SOCKET_OFFSET;
    struct conn *c = &churn.conns[i];
    ssize_t n;
    int err = 0;

    pthread_mutex_lock(&churn.m);
    if (c->state != CONN_LIVE) {
        pthread_mutex_unlock(&churn.m);
        return;
    }
    c->busy = true;
    pthread_mutex_unlock(&churn.m);

    n = lwip_recv(fd, buf, CHURN_BUF, MSG_DONTWAIT);
    if (n < 0)
        err = errno;
    else if (n > 0 && lwip_send(fd, buf, (size_t)n, 0) != n)
        err = errno ? errno : EIO;

    pthread_mutex_lock(&churn.m);
    c->busy = false;
    if (n > 0 && !err) {
        c->requests++;
        c->last_ns = base_now_ns();
        churn.st.requests++;
        churn.st.bytes_echoed += (uint64_t)n;
        if (churn.cfg.close_after && c->requests >= churn.cfg.close_after)
            pthread_cond_broadcast(&churn.cv); /* the closer has work */
    } else if (n == 0 || (err && err != EWOULDBLOCK && err != EAGAIN)) {
        c->state = CONN_PEER_GONE;
        pthread_cond_broadcast(&churn.cv);
    }
    pthread_mutex_unlock(&churn.m);
}

static void selector(void *arg)
{
    static char buf[CHURN_BUF];
    fd_set set;

    (void)arg;
    for (;;) {
        struct timeval tv = {0, (long)churn.cfg.select_ms * 1000};
        int nfds, n, err;

        pthread_mutex_lock(&churn.m);
        while (churn.cfg.serialize && (churn.close_pending || churn.closing)) {
            churn.st.serialize_waits++;
            pthread_cond_wait(&churn.cv, &churn.m);
        }
        nfds = build_set(&set);
        if (nfds == 0) {
            cv_wait_ms(churn.cfg.select_ms);
            pthread_mutex_unlock(&churn.m);
            continue;
        }
        churn.sel_set = set;
        churn.sel_active = true;
        churn.st.select_calls++;
        pthread_mutex_unlock(&churn.m);

        n = lwip_select(nfds, &set, NULL, NULL, &tv);
        err = errno;

        pthread_mutex_lock(&churn.m);
        churn.sel_active = false;
        if (n > 0)
            churn.st.select_wakeups++;
        else if (n == 0)
            churn.st.select_timeouts++;
        else
            errcount_add(churn.st.select_fail, err);
        if (churn.cfg.serialize)
            pthread_cond_broadcast(&churn.cv);
        pthread_mutex_unlock(&churn.m);

        if (n <= 0)
            continue; /* EBADF: a socket was closed under us; rebuild */
        for (int fd = 0; fd < nfds; fd++) {
            if (FD_ISSET(fd, &set) && slot_of(fd) >= 0)
                service(slot_of(fd), buf);
        }
    }
}

/* ---- closer -------------------------------------------------------------- */

/* Pick the sockets to close now (under churn.m); mark them CLOSING. */
static int pick_victims(int *victims)
{
    uint64_t now = base_now_ns();
    int nv = 0;

    for (int i = 0; i < CHURN_SLOTS; i++) {
        struct conn *c = &churn.conns[i];
        uint64_t *why = NULL;

        if (c->busy || (c->state != CONN_LIVE && c->state != CONN_PEER_GONE))
            continue;
        if (c->state == CONN_PEER_GONE && !churn.cfg.linger_peer_gone)
            why = &churn.st.closes_peer;
        else if (churn.cfg.close_after && c->requests >= churn.cfg.close_after)
            why = &churn.st.closes_requests;
        else if (churn.cfg.idle_ms && now - c->last_ns >= churn.cfg.idle_ms * 1000000ull)
            why = c->state == CONN_PEER_GONE ? &churn.st.closes_peer : &churn.st.closes_idle;
        else if (churn.cfg.random_permille &&
                 port_rand() % 1000u < (uint32_t)churn.cfg.random_permille)
            why = &churn.st.closes_random;
        if (why) {
            (*why)++;
            c->state = CONN_CLOSING;
            victims[nv++] = i;
        }
    }
    return nv;
}

static void closer(void *arg)
{
    int victims[CHURN_SLOTS];

    (void)arg;
    for (;;) {
        int nv;

        pthread_mutex_lock(&churn.m);
        nv = pick_victims(victims);
        if (nv == 0) {
            cv_wait_ms(churn.cfg.closer_ms);
            pthread_mutex_unlock(&churn.m);
            continue;
        }
        if (churn.cfg.serialize) {
            churn.close_pending = true;
            while (churn.sel_active) {
                churn.st.serialize_waits++;
                pthread_cond_wait(&churn.cv, &churn.m);
            }
            churn.close_pending = false;
            churn.closing = true;
        }
        pthread_mutex_unlock(&churn.m);

        for (int k = 0; k < nv; k++) {
            int i = victims[k], fd = i + LWIP_SOCKET_OFFSET, r;

            pthread_mutex_lock(&churn.m);
            if (churn.sel_active && FD_ISSET(fd, &churn.sel_set)) {
                churn.st.closes_during_select++;
                churn.slot_closes_during_select[i]++;
            }
            /* Free in our table first: lwIP may hand the slot out again as
             * soon as lwip_close() has released it. */
            churn.conns[i].state = CONN_FREE;
            churn.st.in_use--;
            pthread_mutex_unlock(&churn.m);
            r = lwip_close(fd);
            pthread_mutex_lock(&churn.m);
            if (r == 0)
                churn.st.closed++;
            else
                churn.st.close_errors++;
            pthread_mutex_unlock(&churn.m);
        }

        if (churn.cfg.serialize) {
            pthread_mutex_lock(&churn.m);
            churn.closing = false;
            pthread_cond_broadcast(&churn.cv);
            pthread_mutex_unlock(&churn.m);
        }
    }
}

/* Listen on CFG's port and start the acceptor, selector and closer threads
 * (from any thread but the tcpip thread: the sockets API is used here).
 * Returns 0, or -errno with nothing started. */
int churn_start(const struct churn_config *cfg)
{
    int fd;

    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&churn.cv, &ca);
    pthread_condattr_destroy(&ca);
    churn.cfg = *cfg;
    if (churn.cfg.select_ms == 0)
        churn.cfg.select_ms = 1;
    if (churn.cfg.closer_ms == 0)
        churn.cfg.closer_ms = 1;
    fd = listen_socket();
    if (fd < 0) {
        log_err("churn", "cannot listen on port %u: %s", cfg->port, strerror(-fd));
        return fd;
    }
    churn.listen_fd = fd;
    churn.running = true;
    sys_thread_new("churn-accept", acceptor, NULL, 0, 0);
    sys_thread_new("churn-select", selector, NULL, 0, 0);
    sys_thread_new("churn-close", closer, NULL, 0, 0);
    log_info("churn",
             "listening on TCP %u (select %u ms, idle %u ms, after %u requests, random "
             "%u/1000, %s)",
             cfg->port, churn.cfg.select_ms, cfg->idle_ms, cfg->close_after, cfg->random_permille,
             cfg->serialize ? "serialized" : "racing");
    return 0;
}

/* A consistent copy of the counters (any thread). */
void churn_get_stats(struct churn_stats *out)
{
    pthread_mutex_lock(&churn.m);
    *out = churn.st;
    out->running = churn.running;
    out->serialize = churn.cfg.serialize;
    out->port = churn.cfg.port;
    pthread_mutex_unlock(&churn.m);
}

/* How often the closer closed FD while a select on it was in progress. */
uint64_t churn_slot_closes_during_select(int fd)
{
    int i = slot_of(fd);
    uint64_t n;

    if (i < 0)
        return 0;
    pthread_mutex_lock(&churn.m);
    n = churn.slot_closes_during_select[i];
    pthread_mutex_unlock(&churn.m);
    return n;
}

/* The listening socket, or -1 when churn is not running. */
int churn_listen_fd(void)
{
    return churn.listen_fd;
}
