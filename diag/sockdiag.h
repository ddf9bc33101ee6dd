/* SPDX-License-Identifier: MIT */
/* lwIP socket-slot diagnostics: the socket table (lwIP >= 2.1) and a
 * black-box probe that finds stuck slots on every version. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define SOCKDIAG_MAX_SLOTS 1024

struct cJSON;

/* One entry of lwIP's socket table (lwip_socket_dbg_get_socket, >= 2.1).
 * Fields lwIP was built without read -1. */
struct sockdiag_slot {
    int fd;
    bool conn; /* a netconn is attached: the socket is open */
    int select_waiting;
    int fd_used;         /* LWIP_NETCONN_FULLDUPLEX only */
    int fd_free_pending; /* LWIP_NETCONN_FULLDUPLEX only */
    int rcvevent, sendevent, errevent;
};

/* What the probe found. A slot is "stuck" when it has no connection yet
 * socket() would not hand it out. */
struct sockdiag_probe {
    int num_sockets;
    int offset;      /* LWIP_SOCKET_OFFSET: fd of slot 0 */
    int allocated;   /* sockets the probe could open */
    int stop_errno;  /* errno of the socket() call that failed; 0: none failed */
    int nopen;       /* slots with a connection (someone's open socket) */
    int nstuck;      /* no connection, refused by socket() (stop_errno ENFILE) */
    int nunverified; /* no connection, not reached: socket() failed otherwise */
    int close_errors;
    int open[SOCKDIAG_MAX_SLOTS];
    int stuck[SOCKDIAG_MAX_SLOTS];
    int unverified[SOCKDIAG_MAX_SLOTS];
};

typedef void (*sockdiag_probe_cb)(void *arg, const struct sockdiag_probe *res, int err);

int sockdiag_num_sockets(void);
int sockdiag_offset(void);
bool sockdiag_has_table(void);
int sockdiag_table(struct sockdiag_slot *out, int max);
int sockdiag_probe(struct sockdiag_probe *res);
int sockdiag_probe_async(sockdiag_probe_cb done, void *arg);
const char *sockdiag_stuck_cause(const struct sockdiag_probe *res);
struct cJSON *sockdiag_table_json(void);
struct cJSON *sockdiag_probe_json(const struct sockdiag_probe *res);
/* Socket-slot health for the leak report; from a thread other than tcpip
 * (on 2.0.x it runs the probe). Sets *HEALTHY. */
struct cJSON *sockdiag_health_json(bool *healthy);
