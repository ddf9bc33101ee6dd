/* SPDX-License-Identifier: MIT */
/* New iperf3 connections until their 37-byte cookie is in (it may come in
 * pieces): the server cannot tell a control connection from a data
 * connection before. Runs under lwIP's core lock. */
#pragma once

#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

struct iperf3_cookie_conn;

/* The cookie of PCB is complete (COOKIE: IPERF3_COOKIE_SIZE bytes, valid
 * during the call). The callee takes over PCB. P (not freed) holds the
 * bytes of the read that completed it, the first OFF of them cookie. */
typedef void (*iperf3_cookie_done_cb)(void *arg, struct tcp_pcb *pcb, const uint8_t *cookie,
                                      struct pbuf *p, u16_t off);

/* The connections whose cookie is not complete yet. */
struct iperf3_cookie_list {
    struct iperf3_cookie_conn *head;
    unsigned n;
    iperf3_cookie_done_cb done;
    void *arg; /* DONE's */
};

int iperf3_cookie_add(struct iperf3_cookie_list *l, struct tcp_pcb *pcb);
unsigned iperf3_cookie_expire(struct iperf3_cookie_list *l, uint64_t now_ns);
