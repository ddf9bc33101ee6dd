/* SPDX-License-Identifier: MIT */
/* iperf3 data streams and control-connection plumbing on lwIP's raw API,
 * shared by the server (apps/iperf3.c) and the client
 * (apps/iperf3_client.c). Everything here runs under lwIP's core lock
 * (which threads: apps/iperf3_stream.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "apps/iperf3_proto.h"

struct iperf3_data;

/* One data stream, seen from this end. */
struct iperf3_dstream {
    struct iperf3_data *d;
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
    struct iperf3_udp_rx rx;
    uint32_t buf_off; /* TCP: next byte of the payload buffer to send */
    bool eof;         /* the peer closed it, or it failed */
};

typedef void (*iperf3_progress_cb)(void *owner);

/* A test's data side: its streams, clocks, counters and pacing. */
struct iperf3_data {
    struct iperf3_params prm;
    struct iperf3_dstream *s;
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
    iperf3_progress_cb progress;
    void *owner;
};

/* Bytes waiting in one direction of a control connection. */
struct iperf3_buf {
    uint8_t *data;
    size_t len, cap;
};

/* A control connection: what came in and is not parsed yet, what is to go
 * out and does not fit in lwIP's send buffer yet. */
struct iperf3_ctrl {
    struct tcp_pcb *pcb;
    struct iperf3_buf in, out;
};

/* CPU time of the whole process (all of lwipd's threads) and the wall
 * clock, to report cpu_util_* for a test. */
struct iperf3_cpu_mark {
    uint64_t wall_ns, user_us, sys_us;
};

int iperf3_data_init(struct iperf3_data *d, const struct iperf3_params *p, unsigned nstreams,
                     iperf3_progress_cb progress, void *owner);
struct iperf3_dstream *iperf3_data_add_tcp(struct iperf3_data *d, struct tcp_pcb *pcb, bool sender);
struct iperf3_dstream *iperf3_data_add_udp(struct iperf3_data *d, struct udp_pcb *upcb, bool own,
                                           const ip_addr_t *peer, u16_t port, bool sender);
struct iperf3_dstream *iperf3_data_find_udp(struct iperf3_data *d, const ip_addr_t *addr,
                                            u16_t port);
void iperf3_data_udp_input(struct iperf3_dstream *s, struct pbuf *p);
void iperf3_data_start(struct iperf3_data *d);
void iperf3_data_start_sending(struct iperf3_data *d);
unsigned iperf3_data_tick(struct iperf3_data *d);
void iperf3_data_stop(struct iperf3_data *d);
void iperf3_data_release(struct iperf3_data *d);
void iperf3_data_result(const struct iperf3_data *d, unsigned i, struct iperf3_stream_result *out);
void iperf3_data_totals(const struct iperf3_data *d, uint64_t *rx, uint64_t *tx);
double iperf3_data_seconds(const struct iperf3_data *d);

int iperf3_buf_append(struct iperf3_buf *b, const void *data, size_t len, size_t max);
int iperf3_buf_append_pbuf(struct iperf3_buf *b, const struct pbuf *p, size_t off, size_t max);
void iperf3_buf_consume(struct iperf3_buf *b, size_t n);
void iperf3_buf_free(struct iperf3_buf *b);

int iperf3_ctrl_send(struct iperf3_ctrl *c, const void *data, size_t len);
int iperf3_ctrl_send_msg(struct iperf3_ctrl *c, int msg);
int iperf3_ctrl_send_json(struct iperf3_ctrl *c, const char *json);
void iperf3_ctrl_flush(struct iperf3_ctrl *c);
bool iperf3_ctrl_kick(struct iperf3_ctrl *c);
void iperf3_ctrl_release(struct iperf3_ctrl *c);

void iperf3_linger(struct tcp_pcb *pcb);
void iperf3_refuse(struct tcp_pcb *pcb, int msg, int ierr, int err);

void iperf3_cpu_mark(struct iperf3_cpu_mark *m);
void iperf3_cpu_util(const struct iperf3_cpu_mark *a, const struct iperf3_cpu_mark *b,
                     double *total, double *user, double *sys);
uint64_t iperf3_now_ns(void);
const char *iperf3_err_text(err_t err);

struct iperf3_stats;
void iperf3_client_stats(struct iperf3_stats *out);

struct cJSON;
struct cJSON *iperf3_report(const struct iperf3_data *d, const struct iperf3_results *peer,
                            const struct iperf3_cpu_mark *c0, const struct iperf3_cpu_mark *c1);
