/* SPDX-License-Identifier: MIT */
/* New iperf3 connections until their cookie is in. Each waits at most
 * COOKIE_TIMEOUT_MS, and at most MAX_PENDING wait at once, so connections
 * that stall half-way through their cookie never block a real client. */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_cookie.h"

#include <errno.h>
#include <stdlib.h>

#include "apps/iperf3/iperf3_ctrl.h"
#include "apps/iperf3/iperf3_priv.h"
#include "apps/iperf3/iperf3_proto.h"
#include "base/log.h"

#define COOKIE_TIMEOUT_MS 5000
#define MAX_PENDING       8

/* An accepted connection whose cookie is not complete yet. */
struct iperf3_cookie_conn {
    struct iperf3_cookie_list *list;
    struct tcp_pcb *pcb;
    uint8_t cookie[IPERF3_COOKIE_SIZE];
    uint8_t got;
    uint64_t deadline_ns;
    struct iperf3_cookie_conn *next;
};

static void conn_unlink(struct iperf3_cookie_conn *pd)
{
    struct iperf3_cookie_list *l = pd->list;

    for (struct iperf3_cookie_conn **pp = &l->head; *pp; pp = &(*pp)->next) {
        if (*pp == pd) {
            *pp = pd->next;
            l->n--;
            return;
        }
    }
}

static err_t conn_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iperf3_cookie_conn *pd = arg;
    u16_t take;

    (void)err;
    if (!p) {
        conn_unlink(pd);
        free(pd);
        iperf3_ctrl_linger(pcb);
        return ERR_OK;
    }
    take = (u16_t)LWIP_MIN((u16_t)(IPERF3_COOKIE_SIZE - pd->got), p->tot_len);
    pbuf_copy_partial(p, pd->cookie + pd->got, take, 0);
    pd->got = (uint8_t)(pd->got + take);
    tcp_recved(pcb, p->tot_len);
    if (pd->got == IPERF3_COOKIE_SIZE) {
        conn_unlink(pd);
        pd->list->done(pd->list->arg, pcb, pd->cookie, p, take);
        free(pd);
    }
    pbuf_free(p);
    return ERR_OK;
}

static void conn_err(void *arg, err_t err)
{
    struct iperf3_cookie_conn *pd = arg;

    (void)err;
    conn_unlink(pd);
    free(pd);
}

/* Wait for the cookie of the new connection PCB: L's DONE gets it when
 * complete; the connection is lingered if it closes or stalls first. 0, or
 * -ENOMEM (too many waiting, or no memory): PCB is untouched then. */
int iperf3_cookie_add(struct iperf3_cookie_list *l, struct tcp_pcb *pcb)
{
    struct iperf3_cookie_conn *pd = l->n < MAX_PENDING ? calloc(1, sizeof(*pd)) : NULL;

    if (!pd)
        return -ENOMEM;
    pd->list = l;
    pd->pcb = pcb;
    pd->deadline_ns = iperf3_priv_now_ns() + COOKIE_TIMEOUT_MS * 1000000ull;
    pd->next = l->head;
    l->head = pd;
    l->n++;
    tcp_arg(pcb, pd);
    tcp_recv(pcb, conn_recv);
    tcp_err(pcb, conn_err);
    return 0;
}

/* Drop (linger) the connections whose cookie is overdue at NOW_NS.
 * Returns how many. */
unsigned iperf3_cookie_expire(struct iperf3_cookie_list *l, uint64_t now_ns)
{
    struct iperf3_cookie_conn **pp = &l->head;
    unsigned dropped = 0;

    while (*pp) {
        struct iperf3_cookie_conn *pd = *pp;

        if (now_ns < pd->deadline_ns) {
            pp = &pd->next;
            continue;
        }
        *pp = pd->next;
        l->n--;
        dropped++;
        log_info("iperf3", "dropping a connection that sent %u of %d cookie bytes in %d ms",
                 pd->got, IPERF3_COOKIE_SIZE, COOKIE_TIMEOUT_MS);
        iperf3_ctrl_linger(pd->pcb);
        free(pd);
    }
    return dropped;
}
