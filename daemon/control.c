/* SPDX-License-Identifier: MIT */
/* Control socket transport on libevent: the listener, who may connect, and
 * the socket's start and end. Each client's requests and answers are in
 * daemon/control_client.c. Every failure of a client (garbage, an
 * over-long line, too many clients, idleness) ends in an error response or
 * a closed connection, never in the daemon stopping.
 *
 * A handler may promise its answer for later (control_defer(), e.g. an
 * iperf3 run inside lwIP): that client's further requests wait, so answers
 * stay in request order, and control_reply_send() - callable from any
 * thread - queues the answer and wakes the event loop through an eventfd.
 * A client that leaves first orphans the reply; it is dropped on arrival.
 * Before its answer, a deferred command may stream lines of progress
 * (control_reply_progress(): events as they happen, iperf3 intervals).
 *
 * Access: the socket file's mode and owner are the first gate; the peer's
 * credentials (SO_PEERCRED, and SO_PEERGROUPS for its supplementary groups)
 * the second. Root and the daemon's own user are served; anybody else only
 * as a member of the access group (control_set_group()). A connection
 * refused (credentials, or CONTROL_MAX_CLIENTS connected) is answered and
 * closed at once: a flood of them costs no descriptors. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <unistd.h>

#include "base/base.h"
#include "base/events.h"
#include "base/log.h"
#include "daemon/control_priv.h"

/* May the peer of FD, with credentials CRED, use the socket? */
static bool peer_allowed(const struct control *c, int fd, const struct ucred *cred)
{
    gid_t groups[256];
    socklen_t glen = sizeof(groups);

    if (cred->uid == 0 || cred->uid == geteuid())
        return true;
    if (!c->group_set)
        return false;
    if (cred->gid == c->group)
        return true;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0)
        return false; /* more than 256 groups, or no answer: not proven a member */
    for (size_t i = 0; i < glen / sizeof(groups[0]); i++) {
        if (groups[i] == c->group)
            return true;
    }
    return false;
}

/* Free the clients that have hung up although the loop has not seen their
 * EOF yet: in a burst of reconnections (close, connect) the accepts can run
 * first, and every leaving client would count twice against the limit. */
static void reap_departed(struct control *c, const struct client *except)
{
    struct client *next;
    char b;

    for (struct client *cl = c->clients; cl; cl = next) {
        next = cl->next;
        if (cl == except)
            continue;
        ssize_t n = recv(cl->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            control_client_free(cl); /* what the event callback would do next */
    }
}

/* Log refusals at most every 10 s, with how many went unlogged. */
static void log_refusal(struct control *c, const struct ucred *cred, bool known, const char *why)
{
    static uint64_t last;
    static unsigned long unlogged;
    uint64_t now = base_now_ns(); /* monotonic: a clock set back must not mute it */

    if (last && now - last < 10 * 1000000000ull) {
        unlogged++;
        return;
    }
    last = now;
    log_warn("control",
             "client pid %d uid %u gid %u refused: %s%s (%lu more since the last "
             "such line)",
             known ? (int)cred->pid : -1, known ? (unsigned)cred->uid : 0u,
             known ? (unsigned)cred->gid : 0u, why,
             c->group_set && strcmp(why, "too many clients") ? " and not in the control group" : "",
             unlogged);
    unlogged = 0;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct control *c = arg;
    struct ucred cred = {0};
    socklen_t clen = sizeof(cred);
    char why[64];

    (void)l, (void)sa, (void)socklen;
    bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
    if (!known || !peer_allowed(c, fd, &cred)) {
        c->refused++;
        snprintf(why, sizeof(why), "not root, not uid %u", (unsigned)geteuid());
        log_refusal(c, &cred, known, why);
        control_refuse_fd(fd, "permission denied");
        return;
    }
    if (c->nclients >= CONTROL_MAX_CLIENTS)
        reap_departed(c, NULL);
    if (c->nclients >= CONTROL_MAX_CLIENTS) {
        c->refused_busy++;
        log_refusal(c, &cred, known, "too many clients");
        control_refuse_fd(fd, "too many clients");
        return;
    }
    if (!control_client_new(c, fd, &cred)) {
        control_refuse_fd(fd, "out of memory"); /* that needs no memory */
        return;
    }
    log_debug("control", "client pid %d uid %u gid %u connected (%u clients)", (int)cred.pid,
              (unsigned)cred.uid, (unsigned)cred.gid, c->nclients);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l, (void)arg;
    log_warn("control", "accept: %s", strerror(errno)); /* e.g. EMFILE: keep serving */
}

/* Is something listening on PATH already? */
static int socket_is_live(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live;

    if (s < 0)
        return 0;
    memcpy(sun.sun_path, path, strlen(path));
    live = connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0;
    close(s);
    return live;
}

/* What the file at PATH is, when it is there and not a socket (NULL: a
 * socket, or nothing there). */
static const char *not_a_socket(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0 || S_ISSOCK(st.st_mode))
        return NULL;
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFLNK:
        return "a symbolic link";
    case S_IFIFO:
        return "a FIFO";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    default:
        return "something else";
    }
}

/* Bind a listening socket to PATH (nothing there now) with MODE: the
 * non-blocking fd, or -errno (nothing left behind). */
static int listen_at(const char *path, mode_t mode)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err;

    if (fd < 0)
        return -errno;
    memcpy(sun.sun_path, path, strlen(path));
    /* Create with the final mode: no window where others could connect. */
    mode_t old = umask((mode_t)~mode & 0777);
    int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    /* A backlog above the client limit: a burst of connections (scripts
     * starting together) queues instead of failing with EAGAIN. */
    if (r == 0 && listen(fd, SOMAXCONN) == 0)
        return fd;
    err = errno;
    if (r == 0)
        unlink(path);
    close(fd);
    return -err;
}

/* Serve the listening FD (bound to c->path): replaces the listener there
 * was. 0 or -errno (FD closed). */
static int serve(struct control *c, int fd)
{
    struct stat st;
    /* backlog 0: listen() was called already (-1 would redo it with 128). */
    struct evconnlistener *l =
        evconnlistener_new(c->base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE, 0, fd);

    if (!l) {
        close(fd);
        return -ENOMEM;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    if (c->listener)
        evconnlistener_free(c->listener);
    c->listener = l;
    if (stat(c->path, &st) == 0) {
        c->dev = st.st_dev;
        c->ino = st.st_ino;
    }
    return 0;
}

/* Is the socket file still ours? If it was removed (or its directory),
 * make it again, with its mode and owners, and say so in the log and the
 * events; leave anything else found there alone. WHEN says who noticed. */
static void check_socket(struct control *c, const char *when)
{
    struct stat st;
    const char *what;
    char dir[sizeof(c->path)];
    int fd;

    if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        return;
    what = not_a_socket(c->path);
    if (!what && socket_is_live(c->path))
        what = "another listening socket";
    if (what) {
        if (!c->watch_logged)
            log_err("control",
                    "control socket %s: %s is there now; not replacing it (remove "
                    "it and lwipd makes the socket again)",
                    c->path, what);
        c->watch_logged = true;
        return;
    }
    unlink(c->path); /* a stale socket */
    snprintf(dir, sizeof(dir), "%s", c->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) == 0)
            log_info("control", "made the control socket's directory %s again", dir);
    }
    fd = listen_at(c->path, c->mode);
    if (fd < 0 || serve(c, fd) != 0) {
        if (!c->watch_logged)
            log_err("control", "control socket %s was removed and cannot be made again: %s",
                    c->path, strerror(fd < 0 ? -fd : ENOMEM));
        c->watch_logged = true;
        return;
    }
    if (c->owner_set && chown(c->path, c->owner, c->owner_group) != 0)
        log_warn("control", "control socket %s: chown: %s", c->path, strerror(errno));
    c->watch_logged = false;
    log_warn("control", "control socket %s was removed: made again (noticed %s)", c->path, when);
    events_emit("control", "\"socket\":\"remade\",\"noticed\":\"%s\"", when);
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    check_socket(arg, "by the 1 s check");
}

/* Check the socket file now (on SIGHUP): made again if it was removed. */
void control_check_socket(struct control *c)
{
    check_socket(c, "on SIGHUP");
}

/* Listen on PATH with MODE. A stale socket file is replaced; a live one is
 * refused (EADDRINUSE), and so is anything else already at PATH (EEXIST:
 * never delete a file that is not a socket). The file is watched: removed
 * (or its directory), it is made again within a second. Returns the
 * control socket, or NULL with errno set and ERRBUF saying why (PATH and
 * the reason); nothing is left behind. */
struct control *control_new(struct event_base *base, const char *path, mode_t mode,
                            control_handler_cb handler, void *arg, char *errbuf, size_t errlen)
{
    struct control *c = NULL;
    const char *what = NULL;
    int fd = -1, err;
    struct timeval second = {1, 0};

    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        err = ENAMETOOLONG;
        goto fail;
    }
    if (socket_is_live(path)) {
        err = EADDRINUSE;
        goto fail;
    }
    what = not_a_socket(path);
    if (what) {
        err = EEXIST;
        goto fail;
    }
    unlink(path); /* a stale socket */
    fd = listen_at(path, mode);
    if (fd < 0) {
        err = -fd;
        goto fail;
    }
    err = ENOMEM;
    c = calloc(1, sizeof(*c));
    if (!c)
        goto fail;
    pthread_mutex_init(&c->lock, NULL);
    c->ready_tail = &c->ready;
    c->idle_s = CONTROL_IDLE_S;
    c->mode = mode;
    c->base = base;
    c->handler = handler;
    c->arg = arg;
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->wake_ev = c->wake_fd >= 0
                     ? event_new(base, c->wake_fd, EV_READ | EV_PERSIST, control_wake_cb, c)
                     : NULL;
    if (!c->wake_ev || event_add(c->wake_ev, NULL) != 0)
        goto fail;
    c->watch_ev = event_new(base, -1, EV_PERSIST, watch_cb, c);
    if (!c->watch_ev || event_add(c->watch_ev, &second) != 0)
        goto fail;
    if (serve(c, fd) != 0) {
        fd = -1; /* closed by serve() */
        unlink(path);
        goto fail;
    }
    return c;
fail:
    if (c) {
        if (c->watch_ev)
            event_free(c->watch_ev);
        if (c->wake_ev)
            event_free(c->wake_ev);
        if (c->wake_fd >= 0)
            close(c->wake_fd);
        free(c);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    if (err == EADDRINUSE)
        snprintf(errbuf, errlen, "control socket %s is in use by a running lwipd", path);
    else if (what)
        snprintf(errbuf, errlen, "control socket %s: %s is there, not a socket; not replacing it",
                 path, what);
    else
        snprintf(errbuf, errlen, "control socket %s: %s", path, strerror(err));
    errno = err;
    return NULL;
}

/* Stop listening, push out what is still queued for clients (for at most
 * CONTROL_FLUSH_MS in all), close them and remove the socket file. */
void control_free(struct control *c)
{
    if (!c)
        return;
    evconnlistener_free(c->listener);
    event_free(c->watch_ev);
    control_flush_all(c, CONTROL_FLUSH_MS);
    /* Replies still owed may be sent from other threads after this: keep
     * what they touch (the process is about to exit anyway). */
    pthread_mutex_lock(&c->lock);
    unsigned owed = c->outstanding;
    pthread_mutex_unlock(&c->lock);
    unlink(c->path);
    if (owed) {
        log_info("control", "%u deferred answer(s) left unsent at shutdown", owed);
        return;
    }
    while (c->ready) { /* progress of answers already sent: nobody left to read it */
        struct control_reply *r = c->ready;

        c->ready = r->next;
        free(r->json);
        free(r);
    }
    event_free(c->wake_ev);
    close(c->wake_fd);
    free(c);
}

unsigned control_clients(const struct control *c)
{
    return c->nclients;
}

/* Close clients idle for SECONDS (CONTROL_IDLE_S until this is called); the
 * clients connected already keep theirs. */
void control_set_idle(struct control *c, unsigned seconds)
{
    c->idle_s = seconds ? seconds : CONTROL_IDLE_S;
}

/* The owners to give the socket file when it is made again (after the
 * caller's own chown of the first one). */
void control_set_owner(struct control *c, uid_t uid, gid_t gid)
{
    c->owner = uid;
    c->owner_group = gid;
    c->owner_set = true;
}

/* Let members of GID (primary or supplementary) use the socket too. */
void control_set_group(struct control *c, gid_t gid)
{
    c->group = gid;
    c->group_set = true;
}

/* Connections refused for their credentials so far. */
unsigned long control_refused(const struct control *c)
{
    return c->refused;
}
