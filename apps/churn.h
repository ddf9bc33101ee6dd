/* SPDX-License-Identifier: MIT */
/* Socket churn server on lwIP's sockets API, the select/close socket leak
 * scenario: an acceptor, a selector and a closer thread sharing the client
 * sockets, as a DoIP stack does. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CHURN_ERRNO_SLOTS 8 /* distinct errno values counted per failure kind */

struct churn_config {
    uint16_t port;
    unsigned select_ms;       /* the selector's lwip_select() timeout */
    unsigned idle_ms;         /* close a connection idle this long (0: never) */
    unsigned close_after;     /* close after N requests served (0: never) */
    unsigned random_permille; /* chance, per closer pass, to close a live connection */
    unsigned closer_ms;       /* closer pass period */
    bool linger_peer_gone;    /* keep sockets whose peer left until idle_ms, as a lazy cleanup */
    bool serialize;           /* the leak's workaround: select and close never overlap */
};

/* One failure kind, counted by errno (the host's errno values). */
struct churn_errcount {
    int err;
    uint64_t n;
};

struct churn_stats {
    bool running;
    bool serialize;
    uint16_t port;
    uint64_t accepted;
    uint64_t closed;
    uint64_t close_errors;
    uint64_t closes_peer;     /* the client closed or reset first */
    uint64_t closes_idle;     /* idle_ms expired */
    uint64_t closes_requests; /* close_after reached */
    uint64_t closes_random;
    uint64_t closes_during_select; /* closes that overlapped a select on the same socket */
    uint64_t in_use;               /* client sockets open now */
    uint64_t max_in_use;
    uint64_t requests;
    uint64_t bytes_echoed;
    uint64_t select_calls;
    uint64_t select_wakeups; /* select returned ready sockets */
    uint64_t select_timeouts;
    uint64_t serialize_waits; /* serialize: times one side waited for the other */
    struct churn_errcount accept_fail[CHURN_ERRNO_SLOTS];
    struct churn_errcount socket_fail[CHURN_ERRNO_SLOTS];
    struct churn_errcount select_fail[CHURN_ERRNO_SLOTS];
};

int churn_start(const struct churn_config *cfg);
void churn_get_stats(struct churn_stats *out);
uint64_t churn_slot_closes_during_select(int fd);
int churn_listen_fd(void);
