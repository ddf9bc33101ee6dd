/* SPDX-License-Identifier: MIT */
/* One control client: its request lines, its answers, the answers it waits
 * for (deferred, with lines of progress before them) and the limits that
 * keep one client from costing the daemon more than its share.
 *
 * Limits, each because an allowed client did it (issue 18):
 * - answers pile up unread: past CONTROL_MAX_OUTPUT queued for a client,
 *   its requests are not read any more (the kernel's buffer then stops the
 *   client) until it has read them; a client that reads nothing for the
 *   idle time (--control-idle-s, CONTROL_IDLE_S) is dropped;
 * - a client that says nothing for the idle time, and waits for no
 *   answer, is closed with a line that says so: idle connections cannot
 *   hold the CONTROL_MAX_CLIENTS places;
 * - a client that half-closes (shutdown(SHUT_WR) after its requests) gets
 *   every answer before the connection is closed; one that closed for
 *   good is freed at once, and an answer it still waited for is dropped.
 *
 * Deferred answers are queued by other threads (control_reply_send()) and
 * written by the event loop, woken through an eventfd, in the order they
 * were queued: a command's progress lines before its answer. */
#define _GNU_SOURCE
#include "lwipd_config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/control_priv.h"

#define OOM_LINE "{\"ok\":false,\"api\":1,\"error\":\"out of memory\"}"

static void client_process(struct client *cl);

void control_client_free(struct client *cl)
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

static size_t out_len(const struct client *cl)
{
    return evbuffer_get_length(bufferevent_get_output(cl->bev));
}

/* Queue the line JSON for CL. -1 when there is no memory for it: nothing
 * was queued (never half a line), and the caller drops the client, which
 * then sees its connection end rather than wait for an answer for ever. */
static int client_reply(struct client *cl, const char *json)
{
    struct evbuffer *out = bufferevent_get_output(cl->bev);
    size_t n = strlen(json);

    if (evbuffer_expand(out, n + 1) != 0)
        return -1;
    evbuffer_add(out, json, n); /* into the room just made: cannot fail */
    evbuffer_add(out, "\n", 1);
    return 0;
}

/* Close CL once its output is written (at once when there is none).
 * CL may be gone on return. */
static void client_close(struct client *cl)
{
    cl->closing = true;
    bufferevent_disable(cl->bev, EV_READ);
    if (out_len(cl) == 0)
        control_client_free(cl);
}

/* Reply with an error and close once it is written. */
static void client_refuse(struct client *cl, const char *msg)
{
    char buf[256];

    snprintf(buf, sizeof(buf), "{\"ok\":false,\"api\":%d,\"error\":\"%s\"}", CONTROL_API, msg);
    if (client_reply(cl, buf) != 0) {
        control_client_free(cl);
        return;
    }
    client_close(cl);
}

/* Everything written: free a closing client, or read again from one whose
 * answers had piled up. */
static void client_write_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;

    (void)bev;
    if (cl->closing) {
        control_client_free(cl);
    } else if (cl->paused) {
        cl->paused = false;
        if (!cl->eof)
            bufferevent_enable(cl->bev, EV_READ);
        client_process(cl);
    }
}

/* Answer the complete request lines CL has sent, in order, until one is
 * deferred or the answers pile up; then, if the client sends no more and
 * waits for nothing, close. CL may be gone on return. */
static void client_process(struct client *cl)
{
    struct evbuffer *in = bufferevent_get_input(cl->bev);
    char *line;
    size_t len;

    while (!cl->closing && !cl->pending) {
        if (out_len(cl) >= CONTROL_MAX_OUTPUT) {
            cl->paused = true; /* client_write_cb() resumes */
            bufferevent_disable(cl->bev, EV_READ);
            return;
        }
        line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (!line)
            break;

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
        int r = client_reply(cl, resp ? resp : OOM_LINE);

        free(resp);
        if (r != 0) {
            control_client_free(cl);
            return;
        }
    }
    if (cl->closing || cl->pending)
        return;
    if (evbuffer_get_length(in) > CONTROL_MAX_LINE)
        client_refuse(cl, "request line too long");
    else if (cl->eof)
        client_close(cl); /* an unterminated last line is no request */
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    client_process(arg);
}

static void client_event_cb(struct bufferevent *bev, short events, void *arg)
{
    struct client *cl = arg;

    if (events & BEV_EVENT_ERROR) {
        control_client_free(cl);
    } else if (events & BEV_EVENT_EOF) {
        struct pollfd pfd = {.fd = cl->fd, .events = POLLOUT};

        /* Gone for good (closed, not just shut down for writing: POLLHUP
         * on a Unix socket): nobody reads the answers. */
        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR))) {
            control_client_free(cl);
            return;
        }
        cl->eof = true; /* half-closed: its answers still go out */
        client_process(cl);
    } else if ((events & BEV_EVENT_TIMEOUT) && (events & BEV_EVENT_READING)) {
        if (cl->pending || cl->paused) {
            if (!cl->paused)
                bufferevent_enable(bev, EV_READ); /* it waits for us, not idle */
            return;
        }
        log_debug("control", "client pid %d idle for %d s: closed", (int)cl->pid, CONTROL_IDLE_S);
        client_refuse(cl, "idle too long: closed");
    } else if (events & BEV_EVENT_TIMEOUT) {
        log_debug("control", "client pid %d read nothing for %u s: dropped", (int)cl->pid,
                  cl->ctl->idle_s);
        control_client_free(cl);
    }
}

/* A client for the accepted FD (its peer CRED checked); NULL if out of
 * memory (the caller closes FD). */
struct client *control_client_new(struct control *c, int fd, const struct ucred *cred)
{
    struct client *cl = calloc(1, sizeof(*cl));
    struct timeval idle = {(time_t)c->idle_s, 0};

    if (!cl)
        return NULL;
    cl->ctl = c;
    cl->fd = fd;
    cl->pid = cred->pid;
    cl->uid = cred->uid;
    cl->gid = cred->gid;
    cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!cl->bev) {
        free(cl);
        return NULL;
    }
    cl->next = c->clients;
    c->clients = cl;
    c->nclients++;
    bufferevent_setcb(cl->bev, client_read_cb, client_write_cb, client_event_cb, cl);
    bufferevent_set_timeouts(cl->bev, &idle, &idle);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
    return cl;
}

/* Refuse the accepted FD with MSG and close it, without making it a client:
 * a flood of refused connections costs no descriptors. What the peer sent
 * is read first, so that the close does not reset the connection before
 * the peer reads the refusal. */
void control_refuse_fd(int fd, const char *msg)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"api\":%d,\"error\":\"%s\"}\n", CONTROL_API,
                     msg);

    for (int i = 0; i < 4 && recv(fd, buf + n + 1, sizeof(buf) - (size_t)n - 1, MSG_DONTWAIT) > 0;
         i++)
        ;
    if (send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* the peer has gone: nothing to tell */
    }
    close(fd);
}

/* The credentials of REQ's client (SO_PEERCRED, read as it connected):
 * its uid into *UID. 0, or -ENOTCONN without a client (REQ NULL). */
int control_req_peer_uid(const struct control_req *req, uid_t *uid)
{
    if (!req || !req->cl)
        return -ENOTCONN;
    *uid = req->cl->uid;
    return 0;
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

/* The event loop: write the queued answers and progress lines. */
void control_wake_cb(evutil_socket_t fd, short what, void *arg)
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
            if (cl && out_len(cl) < CONTROL_MAX_BACKLOG)
                (void)client_reply(cl, r->json); /* no memory: the line is lost */
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
            if (client_reply(cl, r->json ? r->json : OOM_LINE) != 0)
                control_client_free(cl);
            else
                client_process(cl); /* requests that queued up meanwhile; may free cl */
        }
        free(r->json);
        free(r);
    }
}

/* At shutdown: write what is queued for every client, for at most
 * BUDGET_MS in all (a client that does not read cannot hold the exit),
 * then free them. */
void control_flush_all(struct control *c, unsigned budget_ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        bool left = false;

        for (struct client *cl = c->clients; cl; cl = cl->next) {
            struct evbuffer *out = bufferevent_get_output(cl->bev);

            evbuffer_unfreeze(out, 1); /* bufferevents keep the front frozen */
            while (evbuffer_get_length(out) > 0 && evbuffer_write(out, cl->fd) > 0)
                ;
            left |= evbuffer_get_length(out) > 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (!left || ms >= (long)budget_ms)
            break;
        poll(NULL, 0, 5); /* clients read meanwhile */
    }
    while (c->clients)
        control_client_free(c->clients);
}
