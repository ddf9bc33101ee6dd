/* SPDX-License-Identifier: MIT */
/* Unit tests for netif_tap's TX ring: order and content on the wire, the
 * references it takes and gives back under each --txc-free policy, a full
 * ring, and frames queued when the cable is pulled. The ring is linked
 * alone: this file plays its driver (struct tx_ring_ops), whose "TAP" is one
 * end of a SOCK_SEQPACKET socketpair, which keeps frame boundaries. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "lwip/pbuf.h"
#include "lwip/tcpip.h"

#include "netif_tap/tx_ring.h"
#include "crash/fatal.h"
#include "mcu/irq.h"

static int wire[2];

/* The driver around the ring under test. */
struct driver {
    struct tx_ring ring;
    atomic_bool link_up;
    counter_t frames; /* frames the ring had written */
};

/* tx_ring_ops.write: the whole chain in one writev, as the real driver. */
static void drv_write(void *arg, struct pbuf *p)
{
    struct driver *d = arg;
    struct iovec iov[16];
    int n = 0;

    for (struct pbuf *q = p; q && n < 16; q = q->next, n++) {
        iov[n].iov_base = q->payload;
        iov[n].iov_len = q->len;
    }
    if (writev(wire[0], iov, n) == (ssize_t)p->tot_len)
        ctr_add(&d->frames, 1);
}

static bool drv_link_up(void *arg)
{
    struct driver *d = arg;

    return atomic_load(&d->link_up);
}

static const struct tx_ring_ops drv_ops = {.write = drv_write, .link_up = drv_link_up};

static struct driver *ring_new(enum txc_free how, unsigned size)
{
    struct driver *d = calloc(1, sizeof(*d));
    struct tx_ring_config cfg = {.size = size, .coalesce = 1, .free = how, .irq_target = "tcpip"};

    assert_non_null(d);
    atomic_store(&d->link_up, true);
    assert_int_equal(tx_ring_init(&d->ring, &cfg, &drv_ops, d), 0);
    assert_int_equal(tx_ring_start(&d->ring), 0);
    return d;
}

static void ring_free(struct driver *d)
{
    tx_ring_stop(&d->ring);
    tx_ring_destroy(&d->ring);
    free(d);
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

/* Queue P; a full ring (-ENOBUFS, ERR_MEM to lwIP) is legitimate while the ISR has not given
 * descriptors back yet, so retry for a bounded time as lwIP would. */
static void enqueue(struct driver *d, struct pbuf *p)
{
    for (int i = 0; i < 4000; i++) {
        if (tx_ring_enqueue(&d->ring, p) == 0)
            return;
        usleep(500);
    }
    fail_msg("the ring stayed full");
}

static void run_policy(enum txc_free how)
{
    struct driver *d = ring_new(how, 16);
    struct pbuf *p[40];

    for (unsigned n = 0; n < 40; n++) {
        p[n] = frame(n, (u16_t)(60 + n));
        enqueue(d, p[n]);
        read_frame(n, (u16_t)(60 + n));
    }
    for (unsigned n = 0; n < 40; n++) {
        wait_ref(p[n], 1); /* the ring gave its reference back */
        pbuf_free(p[n]);
    }
    assert_int_equal(ctr_get(&d->frames), 40);
    assert_true(ctr_get(&d->ring.ctr.isr_runs) > 0);
    if (how == TXC_FREE_ISR)
        assert_true(ctr_get(&d->ring.ctr.free_isr) > 0);
    if (how == TXC_FREE_CALLBACK)
        assert_true(ctr_get(&d->ring.ctr.free_callback) > 0);
    if (how == TXC_FREE_TASK)
        assert_true(ctr_get(&d->ring.ctr.free_task) > 0);
    ring_free(d);
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
    struct driver *d = ring_new(TXC_FREE_TASK, 8);
    struct pbuf *a = frame(0, 14), *b = frame(14, 100);

    (void)state;
    pbuf_cat(a, b); /* header + payload, as TCP builds them */
    assert_int_equal(tx_ring_enqueue(&d->ring, a), 0);
    read_frame(0, 114); /* written with one writev: one frame, in order */
    wait_ref(a, 1);
    pbuf_free(a);
    ring_free(d);
}

/* Frames of 1400 bytes test_ring_full_is_err_mem offers a ring of 4: 64, or
 * what lwIP's heap holds (MEM_SIZE: 16 KiB in port/opts/small gives 10,
 * still more than the ring, the DMA thread and the stalled wire take). */
#define FULL_FRAMES (MEM_SIZE / 1600 < 64 ? MEM_SIZE / 1600 : 64)

static void test_ring_full_is_err_mem(void **state)
{
    int big = 1 << 22;
    struct driver *d;
    struct pbuf *p[64];
    unsigned queued = 0, refused = 0;

    (void)state;
    /* Let the wire fill: a tiny send buffer stalls the DMA thread. */
    int small = 4096;
    setsockopt(wire[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    d = ring_new(TXC_FREE_TASK, 4);
    for (unsigned n = 0; n < FULL_FRAMES; n++) {
        p[n] = frame(n, 1400);
        if (tx_ring_enqueue(&d->ring, p[n]) == 0)
            queued++;
        else
            refused++;
    }
    assert_true(refused > 0);
    assert_int_equal(ctr_get(&d->ring.ctr.full), refused);
    for (unsigned n = 0; n < queued; n++) /* drain: the DMA thread moves on */
        assert_int_equal(recv(wire[1], (char[2048]){0}, 2048, 0), 1400);
    for (unsigned n = 0; n < FULL_FRAMES; n++) {
        wait_ref(p[n], 1);
        pbuf_free(p[n]);
    }
    setsockopt(wire[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    ring_free(d);
}

static void test_link_down_completes_without_sending(void **state)
{
    struct driver *d = ring_new(TXC_FREE_TASK, 8);
    struct pbuf *p = frame(1, 64);
    char buf[64];

    (void)state;
    atomic_store(&d->link_up, false);
    assert_int_equal(tx_ring_enqueue(&d->ring, p), 0);
    wait_ref(p, 1); /* completed and given back... */
    assert_int_equal(recv(wire[1], buf, sizeof(buf), MSG_DONTWAIT), -1); /* ...not sent */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(ctr_get(&d->ring.ctr.link_down), 1);
    pbuf_free(p);
    ring_free(d);
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
