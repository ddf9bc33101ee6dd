/* SPDX-License-Identifier: MIT */
/* iperf3 data streams on lwIP's raw API, shared by the server
 * (iperf3_server.c) and the client (iperf3_client.c): a test's set of data
 * connections, their counters, clocks and pacing. Everything here runs
 * under lwIP's core lock (which threads: iperf3_stream.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "apps/iperf3/iperf3_ctrl.h"
#include "apps/iperf3/iperf3_params.h"
#include "apps/iperf3/iperf3_proto.h"
#include "apps/iperf3/iperf3_results.h"

struct iperf3_streams;

/* One data stream, seen from this end. */
struct iperf3_stream {
    struct iperf3_streams *d;
    uint32_t id;
    bool sender;          /* this end sends on it */
    struct tcp_pcb *pcb;  /* TCP; NULL once closed */
    struct udp_pcb *upcb; /* UDP: the pcb to send from */
    bool own_upcb;        /* removed with the stream (client) */
    ip_addr_t peer;       /* UDP peer */
    u16_t peer_port;
    uint64_t bytes;        /* sent (accepted by lwIP) or received, whole test */
    uint64_t bytes_omit;   /* BYTES when the omit period ended */
    uint64_t packets;      /* UDP datagrams sent */
    uint64_t packets_omit; /* PACKETS (sender) or max_seq (receiver) at omit end */
    uint64_t errors_omit;  /* receiver's loss count at omit end */
    struct iperf3_proto_udp_rx rx;
    uint32_t buf_off; /* TCP: next byte of the payload buffer to send */
    bool eof;         /* the peer closed it, or it failed */
};

/* The -n/-k target was reached (see iperf3_stream_init). */
typedef void (*iperf3_stream_progress_cb)(void *arg);

/* A test's data side: its streams, clocks, counters and pacing. */
struct iperf3_streams {
    struct iperf3_params prm;
    struct iperf3_stream *s;
    unsigned n, cap;
    bool counting; /* between TEST_START and TEST_END */
    bool sending;  /* after TEST_RUNNING, until TEST_END */
    bool omitting;
    uint64_t start_ns;       /* TEST_START */
    uint64_t stats_start_ns; /* end of the omit period (or START_NS) */
    uint64_t end_ns;         /* TEST_END */
    uint64_t send_budget;    /* -n/-k on a sender, bytes after omit; 0: none */
    uint64_t send_left;      /* bytes the senders may still write */
    uint64_t rx_target;      /* call PROGRESS once this much was received after omit */
    bool target_hit;
    uint64_t udp_send_errors;
    iperf3_stream_progress_cb progress;
    void *arg; /* PROGRESS's */
};

int iperf3_stream_init(struct iperf3_streams *d, const struct iperf3_params *p, unsigned nstreams,
                       iperf3_stream_progress_cb progress, void *arg);
struct iperf3_stream *iperf3_stream_add_tcp(struct iperf3_streams *d, struct tcp_pcb *pcb,
                                            bool sender);
struct iperf3_stream *iperf3_stream_add_udp(struct iperf3_streams *d, struct udp_pcb *upcb,
                                            bool own, const ip_addr_t *peer, u16_t port,
                                            bool sender);
struct iperf3_stream *iperf3_stream_find_udp(struct iperf3_streams *d, const ip_addr_t *addr,
                                             u16_t port);
void iperf3_stream_udp_input(struct iperf3_stream *s, struct pbuf *p);
void iperf3_stream_start(struct iperf3_streams *d);
void iperf3_stream_start_sending(struct iperf3_streams *d);
void iperf3_stream_set_budget(struct iperf3_streams *d, uint64_t budget);
bool iperf3_stream_drained(const struct iperf3_streams *d);
unsigned iperf3_stream_tick(struct iperf3_streams *d);
void iperf3_stream_stop(struct iperf3_streams *d);
void iperf3_stream_shutdown(struct iperf3_streams *d);
void iperf3_stream_release(struct iperf3_streams *d, enum iperf3_ctrl_close how);
void iperf3_stream_result(const struct iperf3_streams *d, unsigned i,
                          struct iperf3_results_stream *out);
bool iperf3_stream_has_id(const struct iperf3_streams *d, uint32_t id);
void iperf3_stream_totals(const struct iperf3_streams *d, uint64_t *rx, uint64_t *tx);
double iperf3_stream_seconds(const struct iperf3_streams *d);
