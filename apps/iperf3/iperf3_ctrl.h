/* SPDX-License-Identifier: MIT */
/* The iperf3 control connection on lwIP's raw API, written once for the
 * server and the client: input is buffered and cut into state bytes and
 * length-prefixed JSON messages for the owner's callbacks; output is queued
 * and pushed as lwIP's send buffer takes it. Also how any iperf3 TCP
 * connection ends (linger, refuse). Everything runs under lwIP's core lock
 * (which threads: iperf3_stream.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

/* How a connection we are done with ends (iperf3_ctrl_close). */
enum iperf3_ctrl_close {
    IPERF3_CLOSE_FIN,  /* our FIN now (lwIP keeps the TIME_WAIT) */
    IPERF3_CLOSE_PEER, /* the peer's FIN first, then ours (a bounded wait) */
    IPERF3_CLOSE_RST,  /* RST now: neither end keeps a TIME_WAIT */
};

/* Why a control connection is over. */
enum iperf3_ctrl_end {
    IPERF3_CTRL_CLOSED,        /* the peer closed it (FIN) */
    IPERF3_CTRL_FAILED,        /* lwIP reported an error and freed the pcb */
    IPERF3_CTRL_NOT_CONNECTED, /* the connect failed */
    IPERF3_CTRL_OVERFLOW,      /* more unparsed input than ops->in_max */
};

/* The longest JSON message the owner expects next, in bytes; 0 when it
 * expects a state byte. */
typedef size_t (*iperf3_ctrl_expect_cb)(void *arg);
/* A state byte MSG (enum iperf3_msg) arrived. */
typedef void (*iperf3_ctrl_msg_cb)(void *arg, int msg);
/* A JSON message arrived: LEN bytes at JSON, not NUL-terminated, valid
 * during the call. JSON is NULL when the announced length is 0 or over
 * the expected maximum: the connection cannot be read any further. */
typedef void (*iperf3_ctrl_json_cb)(void *arg, const char *json, size_t len);
/* SERVER_ERROR arrived with the iperf3 error code IERR and ERRNUM. */
typedef void (*iperf3_ctrl_error_cb)(void *arg, int ierr, int errnum);
/* The connection is over for reason WHY. ERR: lwIP's err_t for FAILED and
 * NOT_CONNECTED, the -errno for OVERFLOW, 0 for CLOSED. The owner is
 * expected to call iperf3_ctrl_release(). */
typedef void (*iperf3_ctrl_end_cb)(void *arg, enum iperf3_ctrl_end why, int err);
/* The connection iperf3_ctrl_connect() started is established. */
typedef void (*iperf3_ctrl_connected_cb)(void *arg);

/* What the owner of a control connection does with it. */
struct iperf3_ctrl_ops {
    size_t in_max; /* unparsed input allowed, in bytes */
    iperf3_ctrl_expect_cb expect;
    iperf3_ctrl_msg_cb msg;
    iperf3_ctrl_json_cb json;
    iperf3_ctrl_error_cb server_error; /* NULL: SERVER_ERROR is a plain state byte */
    iperf3_ctrl_end_cb end;
    iperf3_ctrl_connected_cb connected; /* iperf3_ctrl_connect() only */
};

/* Bytes waiting in one direction of a control connection. */
struct iperf3_ctrl_buf {
    uint8_t *data;
    size_t len, cap;
};

/* A control connection: what came in and is not parsed yet, what is to go
 * out and does not fit in lwIP's send buffer yet. */
struct iperf3_ctrl {
    struct tcp_pcb *pcb; /* NULL once released, or freed by lwIP */
    struct iperf3_ctrl_buf in, out;
    const struct iperf3_ctrl_ops *ops;
    void *arg;              /* passed to OPS' callbacks */
    uint64_t last_input_ns; /* when input last arrived */
};

void iperf3_ctrl_accept(struct iperf3_ctrl *c, struct tcp_pcb *pcb, const struct pbuf *p,
                        size_t off, const struct iperf3_ctrl_ops *ops, void *arg);
int iperf3_ctrl_connect(struct iperf3_ctrl *c, const ip_addr_t *addr, uint16_t port,
                        const struct iperf3_ctrl_ops *ops, void *arg);
void iperf3_ctrl_input(struct iperf3_ctrl *c);

int iperf3_ctrl_send(struct iperf3_ctrl *c, const void *data, size_t len);
int iperf3_ctrl_send_msg(struct iperf3_ctrl *c, int msg);
int iperf3_ctrl_send_json(struct iperf3_ctrl *c, const char *json);
bool iperf3_ctrl_kick(struct iperf3_ctrl *c);
void iperf3_ctrl_release(struct iperf3_ctrl *c, enum iperf3_ctrl_close how);

void iperf3_ctrl_close(struct tcp_pcb *pcb, enum iperf3_ctrl_close how);
void iperf3_ctrl_linger(struct tcp_pcb *pcb);
void iperf3_ctrl_refuse(struct tcp_pcb *pcb, int msg, int ierr, int errnum);
