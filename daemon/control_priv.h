/* SPDX-License-Identifier: MIT */
/* What the control socket's two halves share: daemon/control.c (the
 * listener, access checks, start and shutdown) and daemon/control_client.c
 * (one client's requests, answers, deferred replies and limits). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "daemon/control.h"

struct bufferevent;
struct evconnlistener;
struct event;

struct client {
    struct control *ctl;
    struct bufferevent *bev;
    struct client *next;
    struct control_reply *pending; /* a deferred answer this client waits for */
    int fd;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    bool eof;     /* the client sends no more: answer what it sent, then close */
    bool paused;  /* reading stopped: its answers pile up unread */
    bool closing; /* free once the output is written */
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
    unsigned idle_s; /* CONTROL_IDLE_S, or control_set_idle()'s */
    /* The socket file as made: watched, and made again when removed. */
    mode_t mode;
    dev_t dev;
    ino_t ino;
    struct event *watch_ev;
    bool watch_logged; /* the failure to make it again is logged */
    bool owner_set;
    uid_t owner;
    gid_t owner_group;
    unsigned long refused;      /* connections refused for their credentials */
    unsigned long refused_busy; /* ... because CONTROL_MAX_CLIENTS were connected */
};

struct client *control_client_new(struct control *c, int fd, const struct ucred *cred);
void control_client_free(struct client *cl);
void control_refuse_fd(int fd, const char *msg);
void control_wake_cb(int fd, short what, void *arg);
void control_flush_all(struct control *c, unsigned budget_ms);
