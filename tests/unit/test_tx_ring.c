/* SPDX-License-Identifier: MIT */
/* Unit tests for netif_tap's TX ring: order and content on the wire, the
 * references it takes and gives back under each --txc-free policy, a full
 * ring, and frames queued when the cable is pulled. The "TAP" is one end of
 * a SOCK_SEQPACKET socketpair, which keeps frame boundaries. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lwip/pbuf.h"
#include "lwip/tcpip.h"

#include "netif_tap/netif_tap_priv.h"
#include "crash/fatal.h"
#include "mcu/irq.h"

static int wire[2];

static struct netif_tap *ring_new(enum txc_free how, unsigned size)
{
    struct netif_tap *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->fd = wire[0];
    t->cfg.tx_mode = TX_MODE_RING;
    t->cfg.ring_size = size;
    t->cfg.txc_coalesce = 1;
    t->cfg.txc_free = how;
    strcpy(t->irq_target, "tcpip");
    t->cfg.irq_target = t->irq_target;
    atomic_store(&t->link_up, true);
    assert_int_equal(tx_ring_init(t), 0);
    assert_int_equal(tx_ring_start(t), 0);
    return t;
}

static void ring_free(struct netif_tap *t)
{
    tx_ring_stop(t);
    tx_ring_destroy(t);
    free(t);
}

static struct pbuf *frame(unsigned n, u16_t len)
{
    struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_RAM);

    assert_non_null(p);
    for (u16_t i = 0; i < len; i++)
        ((uint8_t *)p->payload)[i] = (uint8_t)(n + i);
    return p;
}

/* Wait (bounded) until P's reference count is back to REF. */
static void wait_ref(struct pbuf *p, unsigned ref)
{
    for (int i = 0; i < 4000 && p->ref != ref; i++)
        usleep(500);
    assert_int_equal(p->ref, ref);
}

static void read_frame(unsigned n, u16_t len)
{
    uint8_t buf[2048];
    ssize_t r = recv(wire[1], buf, sizeof(buf), 0);

    assert_int_equal(r, len);
    for (u16_t i = 0; i < len; i++)
        assert_int_equal(buf[i], (uint8_t)(n + i));
}

/* Queue P; a full ring (ERR_MEM) is legitimate while the ISR has not given
 * descriptors back yet, so retry for a bounded time as lwIP would. */
static void enqueue(struct netif_tap *t, struct pbuf *p)
{
    for (int i = 0; i < 4000; i++) {
        if (tx_ring_enqueue(t, p) == ERR_OK)
            return;
        usleep(500);
    }
    fail_msg("the ring stayed full");
}

static void run_policy(enum txc_free how)
{
    struct netif_tap *t = ring_new(how, 16);
    struct pbuf *p[40];

    for (unsigned n = 0; n < 40; n++) {
        p[n] = frame(n, (u16_t)(60 + n));
        enqueue(t, p[n]);
        read_frame(n, (u16_t)(60 + n));
    }
    for (unsigned n = 0; n < 40; n++) {
        wait_ref(p[n], 1); /* the ring gave its reference back */
        pbuf_free(p[n]);
    }
    assert_int_equal(ctr_get(&t->ctr.tx_frames), 40);
    assert_true(ctr_get(&t->ctr.txc_isr_runs) > 0);
    if (how == TXC_FREE_ISR)
        assert_true(ctr_get(&t->ctr.free_isr) > 0);
    if (how == TXC_FREE_CALLBACK)
        assert_true(ctr_get(&t->ctr.free_callback) > 0);
    if (how == TXC_FREE_TASK)
        assert_true(ctr_get(&t->ctr.free_task) > 0);
    ring_free(t);
}

static void test_ring_task(void **state)
{
    (void)state;
    run_policy(TXC_FREE_TASK);
}

static void test_ring_callback(void **state)
{
    (void)state;
    run_policy(TXC_FREE_CALLBACK);
}

static void test_ring_isr(void **state)
{
    (void)state;
    run_policy(TXC_FREE_ISR);
}

static void test_ring_chain_is_one_frame(void **state)
{
    struct netif_tap *t = ring_new(TXC_FREE_TASK, 8);
    struct pbuf *a = frame(0, 14), *b = frame(14, 100);

    (void)state;
    pbuf_cat(a, b); /* header + payload, as TCP builds them */
    assert_int_equal(tx_ring_enqueue(t, a), ERR_OK);
    read_frame(0, 114); /* written with one writev: one frame, in order */
    wait_ref(a, 1);
    pbuf_free(a);
    ring_free(t);
}

static void test_ring_full_is_err_mem(void **state)
{
    int big = 1 << 22;
    struct netif_tap *t;
    struct pbuf *p[64];
    unsigned queued = 0, refused = 0;

    (void)state;
    /* Let the wire fill: a tiny send buffer stalls the DMA thread. */
    int small = 4096;
    setsockopt(wire[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    t = ring_new(TXC_FREE_TASK, 4);
    for (unsigned n = 0; n < 64; n++) {
        p[n] = frame(n, 1400);
        if (tx_ring_enqueue(t, p[n]) == ERR_OK)
            queued++;
        else
            refused++;
    }
    assert_true(refused > 0);
    assert_int_equal(ctr_get(&t->ctr.tx_ring_full), refused);
    for (unsigned n = 0; n < queued; n++) /* drain: the DMA thread moves on */
        assert_int_equal(recv(wire[1], (char[2048]){0}, 2048, 0), 1400);
    for (unsigned n = 0; n < 64; n++) {
        wait_ref(p[n], 1);
        pbuf_free(p[n]);
    }
    setsockopt(wire[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    ring_free(t);
}

static void test_link_down_completes_without_sending(void **state)
{
    struct netif_tap *t = ring_new(TXC_FREE_TASK, 8);
    struct pbuf *p = frame(1, 64);
    char buf[64];

    (void)state;
    atomic_store(&t->link_up, false);
    assert_int_equal(tx_ring_enqueue(t, p), ERR_OK);
    wait_ref(p, 1); /* completed and given back... */
    assert_int_equal(recv(wire[1], buf, sizeof(buf), MSG_DONTWAIT), -1); /* ...not sent */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(ctr_get(&t->ctr.tx_link_down), 1);
    pbuf_free(p);
    ring_free(t);
}

static void tcpip_up(void *arg)
{
    sem_post(arg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_task),
        cmocka_unit_test(test_ring_callback),
        cmocka_unit_test(test_ring_isr),
        cmocka_unit_test(test_ring_chain_is_one_frame),
        cmocka_unit_test(test_ring_full_is_err_mem),
        cmocka_unit_test(test_link_down_completes_without_sending),
    };
    sem_t up;

    fatal_init();
    irq_init(IRQ_POLICY_DETECT);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, wire) != 0)
        return 1;
    sem_init(&up, 0, 0);
    tcpip_init(tcpip_up, &up);
    while (sem_wait(&up) != 0)
        ;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
