/* SPDX-License-Identifier: MIT */
/* Control socket transport on libevent: accepts clients, splits requests at
 * newlines, hands each line to the handler and writes its response line.
 * Every failure of a client (garbage, an over-long line, too many clients)
 * ends in an error response or a closed connection, never in the daemon
 * stopping.
 *
 * A handler may promise its answer for later (control_defer(), e.g. an
 * iperf3 run inside lwIP): that client's further requests wait, so answers
 * stay in request order, and control_reply_send() - callable from any
 * thread - queues the answer and wakes the event loop through an eventfd.
 * A client that leaves first orphans the reply; it is dropped on arrival.
 * Before its answer, a deferred command may stream lines of progress
 * (control_reply_progress(): events as they happen, iperf3 intervals); they
 * reach the client in the order they were queued, and the answer last.
 *
 * Access: the socket file's mode and owner are the first gate; the peer's
 * credentials (SO_PEERCRED, and SO_PEERGROUPS for its supplementary groups)
 * the second. Root and the daemon's own user are served; anybody else only
 * as a member of the access group (control_set_group()). Every connection
 * is logged with its credentials. */
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
#include <sys/eventfd.h>
#include <pthread.h>
#include <unistd.h>

#include "base/log.h"

struct client {
    struct control *ctl;
    struct bufferevent *bev;
    struct client *next;
    struct control_reply *pending; /* a deferred answer this client waits for */
    int fd;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int closing;
};

struct control_reply {
    struct control *ctl;
    struct client *cl; /* NULL once the client has gone */
    char *json;
    /* A line of progress for the reply `of` (which stays owed), or NULL:
     * this is the answer. */
    struct control_reply *of;
    struct control_reply *next;
};

struct control_req {
    struct client *cl;
    struct control_reply *deferred;
};

struct control {
    struct event_base *base;
    struct evconnlistener *listener;
    control_handler_cb handler;
    void *arg;
    char path[108];
    struct client *clients;
    unsigned nclients;
    int wake_fd; /* eventfd: replies are ready */
    struct event *wake_ev;
    pthread_mutex_t lock;                      /* guards ready, outstanding and every reply's cl */
    struct control_reply *ready, **ready_tail; /* in the order queued */
    unsigned outstanding;                      /* deferred, not yet processed */
    bool group_set;                            /* members of group may connect */
    gid_t group;
    unsigned long refused; /* connections refused for their credentials */
};

static void client_free(struct client *cl)
{
    struct control *c = cl->ctl;

    if (cl->pending) {
        pthread_mutex_lock(&c->lock);
        cl->pending->cl = NULL; /* orphaned: dropped when it arrives */
        pthread_mutex_unlock(&c->lock);
    }

    for (struct client **pp = &c->clients; *pp; pp = &(*pp)->next) {
        if (*pp == cl) {
            *pp = cl->next;
            break;
        }
    }
    c->nclients--;
    bufferevent_free(cl->bev);
    free(cl);
}

static void client_reply(struct client *cl, const char *json)
{
    struct evbuffer *out = bufferevent_get_output(cl->bev);

    evbuffer_add(out, json, strlen(json));
    evbuffer_add(out, "\n", 1);
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;

    (void)bev;
    if (cl->closing)
        client_free(cl);
}

/* Reply with an error and close once it is written. */
static void client_refuse(struct client *cl, const char *msg)
{
    char buf[256];

    snprintf(buf, sizeof(buf), "{\"ok\":false,\"api\":%d,\"error\":\"%s\"}", CONTROL_API, msg);
    client_reply(cl, buf);
    cl->closing = 1;
    bufferevent_disable(cl->bev, EV_READ);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t len;

    while (!cl->closing && !cl->pending &&
           (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        struct control_req req = {cl, NULL};

        if (len > CONTROL_MAX_LINE) {
            free(line);
            client_refuse(cl, "request line too long");
            return;
        }
        char *resp = cl->ctl->handler(cl->ctl->arg, &req, line, len);
        free(line);
        if (!resp && req.deferred) {
            cl->pending = req.deferred; /* answered by control_reply_send() */
            return;
        }
        client_reply(cl, resp ? resp : "{\"ok\":false,\"api\":1,\"error\":\"out of memory\"}");
        free(resp);
    }
    if (!cl->closing && evbuffer_get_length(in) > CONTROL_MAX_LINE)
        client_refuse(cl, "request line too long");
}

static void client_event_cb(struct bufferevent *bev, short events, void *arg)
{
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(arg);
}

/* Promise an answer to REQ for later (from a handler, which then returns
 * NULL). The client's next requests wait until control_reply_send(). */
struct control_reply *control_defer(struct control_req *req)
{
    struct control_reply *r;

    if (!req || req->deferred)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->ctl = req->cl->ctl;
    r->cl = req->cl;
    req->deferred = r;
    pthread_mutex_lock(&r->ctl->lock);
    r->ctl->outstanding++;
    pthread_mutex_unlock(&r->ctl->lock);
    return r;
}

/* Deliver the promised answer JSON (malloc'd; ownership passes here). Any
 * thread. Each reply is sent exactly once. */
void control_reply_send(struct control_reply *r, char *json)
{
    struct control *c = r->ctl;
    uint64_t one = 1;

    r->json = json;
    r->next = NULL;
    pthread_mutex_lock(&c->lock);
    *c->ready_tail = r;
    c->ready_tail = &r->next;
    pthread_mutex_unlock(&c->lock);
    if (write(c->wake_fd, &one, sizeof(one)) < 0) {
        /* eventfd counter saturated: a wake-up is pending anyway */
    }
}

/* Queue JSON (malloc'd; ownership passes here) as a line of progress of R,
 * sent before R's answer; any thread, never after control_reply_send(R).
 * Returns -1 when the client has gone (JSON freed): the producer may stop
 * and send its answer, which is then dropped. */
int control_reply_progress(struct control_reply *r, char *json)
{
    struct control *c = r->ctl;
    struct control_reply *p;
    bool gone;

    pthread_mutex_lock(&c->lock);
    gone = r->cl == NULL;
    pthread_mutex_unlock(&c->lock);
    if (gone || !json || !(p = calloc(1, sizeof(*p)))) {
        free(json);
        return gone ? -1 : 0;
    }
    p->ctl = c;
    p->of = r;
    control_reply_send(p, json);
    return 0;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct control *c = arg;
    struct control_reply *list, *r;
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: another wake-up took them */
    }
    pthread_mutex_lock(&c->lock);
    list = c->ready;
    c->ready = NULL;
    c->ready_tail = &c->ready;
    pthread_mutex_unlock(&c->lock);
    while ((r = list) != NULL) {
        struct client *cl;

        list = r->next;
        if (r->of) { /* progress: its reply is still owed, so still allocated */
            pthread_mutex_lock(&c->lock);
            cl = r->of->cl;
            pthread_mutex_unlock(&c->lock);
            /* a client that does not read loses progress, not memory */
            if (cl && evbuffer_get_length(bufferevent_get_output(cl->bev)) < CONTROL_MAX_BACKLOG)
                client_reply(cl, r->json);
            free(r->json);
            free(r);
            continue;
        }
        pthread_mutex_lock(&c->lock);
        cl = r->cl;
        c->outstanding--;
        pthread_mutex_unlock(&c->lock);
        if (cl) {
            cl->pending = NULL;
            client_reply(cl, r->json ? r->json
                                     : "{\"ok\":false,\"api\":1,\"error\":\"out of memory\"}");
            client_read_cb(cl->bev, cl); /* requests that queued up meanwhile */
        }
        free(r->json);
        free(r);
    }
}

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
            client_free(cl); /* what client_event_cb() would do next */
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct control *c = arg;
    struct client *cl = calloc(1, sizeof(*cl));
    struct ucred cred;
    socklen_t clen = sizeof(cred);

    (void)l, (void)sa, (void)socklen;
    if (!cl) {
        close(fd);
        return;
    }
    cl->ctl = c;
    cl->fd = fd;
    cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!cl->bev) {
        close(fd);
        free(cl);
        return;
    }
    bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
    if (known) {
        cl->pid = cred.pid;
        cl->uid = cred.uid;
        cl->gid = cred.gid;
    }
    cl->next = c->clients;
    c->clients = cl;
    c->nclients++;
    bufferevent_setcb(cl->bev, client_read_cb, client_write_cb, client_event_cb, cl);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
    if (!known || !peer_allowed(c, fd, &cred)) {
        c->refused++;
        log_warn("control", "client pid %d uid %u gid %u refused: not root, not uid %u%s",
                 (int)cl->pid, (unsigned)cl->uid, (unsigned)cl->gid, (unsigned)geteuid(),
                 c->group_set ? " and not in the control group" : "");
        client_refuse(cl, "permission denied");
        return;
    }
    log_debug("control", "client pid %d uid %u gid %u connected (%u clients)", (int)cl->pid,
              (unsigned)cl->uid, (unsigned)cl->gid, c->nclients);
    if (c->nclients > CONTROL_MAX_CLIENTS)
        reap_departed(c, cl);
    if (c->nclients > CONTROL_MAX_CLIENTS)
        client_refuse(cl, "too many clients");
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

/* Listen on PATH with MODE. A stale socket file is replaced; a live one is
 * refused (EADDRINUSE), and so is anything else already at PATH (EEXIST:
 * never delete a file that is not a socket). Returns the control socket, or NULL with errno set
 * and ERRBUF saying why (PATH and the reason); nothing is left behind. */
struct control *control_new(struct event_base *base, const char *path, mode_t mode,
                            control_handler_cb handler, void *arg, char *errbuf, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct control *c = NULL;
    const char *what = NULL;
    int fd = -1, err;

    if (strlen(path) >= sizeof(sun.sun_path)) {
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
    memcpy(sun.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = errno;
        goto fail;
    }
    /* Create with the final mode: no window where others could connect. */
    mode_t old = umask((mode_t)~mode & 0777);
    int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    /* A backlog above the client limit: a burst of connections (scripts
     * starting together) queues instead of failing with EAGAIN. */
    if (r != 0 || listen(fd, SOMAXCONN) != 0) {
        err = errno;
        goto fail;
    }
    err = ENOMEM;
    c = calloc(1, sizeof(*c));
    if (!c)
        goto fail;
    pthread_mutex_init(&c->lock, NULL);
    c->ready_tail = &c->ready;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->wake_ev =
        c->wake_fd >= 0 ? event_new(base, c->wake_fd, EV_READ | EV_PERSIST, wake_cb, c) : NULL;
    if (!c->wake_ev || event_add(c->wake_ev, NULL) != 0)
        goto fail;
    c->base = base;
    c->handler = handler;
    c->arg = arg;
    snprintf(c->path, sizeof(c->path), "%s", path);
    /* backlog 0: listen() was called above (-1 would redo it with 128). */
    c->listener = evconnlistener_new(base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!c->listener)
        goto fail;
    evconnlistener_set_error_cb(c->listener, accept_error_cb);
    return c;
fail:
    if (c) {
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

/* Stop listening, push out what is still queued for clients (best effort),
 * close them and remove the socket file. */
void control_free(struct control *c)
{
    if (!c)
        return;
    evconnlistener_free(c->listener);
    while (c->clients) {
        struct client *cl = c->clients;
        struct evbuffer *out = bufferevent_get_output(cl->bev);
        int fl = fcntl(cl->fd, F_GETFL);
        struct timeval tmo = {0, 200000}; /* a client that does not read won't hold us */

        setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
        evbuffer_unfreeze(out, 1); /* bufferevents keep the front frozen */
        if (fl >= 0 && fcntl(cl->fd, F_SETFL, fl & ~O_NONBLOCK) == 0) {
            while (evbuffer_get_length(out) > 0 && evbuffer_write(out, cl->fd) > 0)
                ;
        }
        client_free(cl);
    }
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
