/* SPDX-License-Identifier: MIT */
/* Control socket: Unix stream socket, one JSON object per line each way. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct control;

#define CONTROL_MAX_LINE    65536
#define CONTROL_MAX_CLIENTS 128
/* Progress lines are dropped while this much is unread by the client. */
#define CONTROL_MAX_BACKLOG (4u << 20)
/* A client's requests are not read while this much of its answers is
 * unread. */
#define CONTROL_MAX_OUTPUT (1u << 20)
/* A client that sends nothing (and waits for no answer), or reads nothing
 * of its answers, for this long is closed (control_set_idle()). */
#define CONTROL_IDLE_S 60
/* What shutdown waits, in all, for clients to read what is queued. */
#define CONTROL_FLUSH_MS 500
/* The schema version every response carries as "api": raised when a field
 * changes meaning or goes away (new fields do not raise it). */
#define CONTROL_API 1

struct control_req;   /* the request being handled (valid during the handler only) */
struct control_reply; /* an answer promised for later */

/* Turns one request line into one response line (malloc'd, no newline), or
 * returns NULL after control_defer() to answer later. */
typedef char *(*control_handler_cb)(void *arg, struct control_req *req, const char *line,
                                    size_t len);

struct control *control_new(struct event_base *base, const char *path, mode_t mode,
                            control_handler_cb handler, void *arg, char *errbuf, size_t errlen);
void control_free(struct control *c);
unsigned control_clients(const struct control *c);
void control_set_group(struct control *c, gid_t gid);
void control_set_idle(struct control *c, unsigned seconds);
void control_set_owner(struct control *c, uid_t uid, gid_t gid);
void control_check_socket(struct control *c);
unsigned long control_refused(const struct control *c);
int control_req_peer_uid(const struct control_req *req, uid_t *uid);
struct control_reply *control_defer(struct control_req *req);
void control_reply_send(struct control_reply *r, char *json);
int control_reply_progress(struct control_reply *r, char *json);
