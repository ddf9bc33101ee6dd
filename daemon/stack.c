/* SPDX-License-Identifier: MIT */
/* lwIP bring-up and calls into the tcpip thread.
 *
 * stack_call() posts a message to the tcpip thread and waits for it with a
 * deadline. The call record is reference-counted and carries its own copy of
 * the argument block, so a caller that gave up (a wedged stack) leaves
 * nothing dangling: the tcpip thread may still run it later, safely.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/stack.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwip/dhcp.h"
#include "lwip/igmp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"

#include "apps/churn.h"
#include "apps/echo.h"
#include "base/events.h"
#include "apps/iperf3/iperf3.h"
#include "apps/lwiperf_app.h"
#include "apps/lwip_apps/lwip_apps.h"
#include "netif_tap/netif_tap.h"
#include "base/log.h"
#include "base/base.h"
#include "mcu/irq.h"

#define HOUSEKEEPING_MS 200

static struct {
    struct netif_tap *tap;
    struct stack_config cfg;
    atomic_uint_fast64_t heartbeat;
} stack;

struct call {
    stack_fn fn;
    atomic_int refs;
    sem_t done;
    int result;
    size_t size;
    unsigned char data[];
};

static void call_put(struct call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1) {
        sem_destroy(&c->done);
        irq_free(c); /* may run in the tcpip thread: IRQs masked around libc */
    }
}

static void call_run(void *arg)
{
    struct call *c = arg;

    c->result = c->fn(c->data);
    sem_post(&c->done);
    call_put(c);
}

/* Run FN in the tcpip thread on a copy of the SIZE bytes at ARG, wait up to
 * TIMEOUT_MS, copy the block back. Returns FN's result, -ETIMEDOUT (FN may
 * still run later, on its own copy), or -ENOMEM/-EAGAIN if it could not be
 * posted. */
int stack_call(stack_fn fn, void *arg, size_t size, unsigned timeout_ms)
{
    struct call *c = malloc(sizeof(*c) + size);
    struct timespec deadline;
    int r;

    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->size = size;
    c->result = 0;
    atomic_init(&c->refs, 2);
    sem_init(&c->done, 0, 0);
    if (size)
        memcpy(c->data, arg, size);
    /* Non-blocking post: never wait behind a full tcpip mailbox. */
    if (tcpip_callback_with_block(call_run, c, 0) != ERR_OK) {
        sem_destroy(&c->done);
        free(c);
        return -EAGAIN;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while ((r = sem_clockwait(&c->done, CLOCK_MONOTONIC, &deadline)) != 0 && errno == EINTR)
        ;
    if (r == 0) {
        if (size)
            memcpy(arg, c->data, size);
        r = c->result;
    } else {
        r = -ETIMEDOUT;
    }
    call_put(c);
    return r;
}

static void housekeeping(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&stack.heartbeat, 1, memory_order_relaxed);
    netif_tap_housekeeping(stack.tap);
    sys_timeout(HOUSEKEEPING_MS, housekeeping, NULL);
}

/* How many housekeeping ticks the tcpip thread has run: it stops moving when
 * the stack is wedged. */
uint64_t stack_heartbeat(void)
{
    return atomic_load_explicit(&stack.heartbeat, memory_order_relaxed);
}

static int setup_in_tcpip(void *arg)
{
    (void)arg;
    if (netif_tap_add(stack.tap, stack.cfg.ip, stack.cfg.mask, stack.cfg.gw) != 0) {
        log_err("stack", "netif_add failed");
        return -EIO;
    }
    if (stack.cfg.echo && echo_start(stack.cfg.echo_idle_s) != 0) {
        log_err("stack", "echo/discard/chargen: cannot listen (pcb pools too small?)");
        return -ENOMEM;
    }
    if (stack.cfg.lwiperf && lwiperf_app_start() != 0) {
        log_err("stack", "lwiperf: cannot listen on 5001");
        return -ENOMEM;
    }
    if (stack.cfg.iperf3) {
        struct iperf3_server_config ic = {.port = stack.cfg.iperf3_port};
        int err = iperf3_server_start(&ic);
        if (err) {
            log_err("stack", "iperf3: cannot listen on %u: %s", stack.cfg.iperf3_port,
                    strerror(-err));
            return err;
        }
    }
    int err = lwip_apps_start(&stack.cfg.lwip_apps, netif_tap_netif(stack.tap));
    if (err) {
        log_err("stack", "lwIP's apps: cannot start: %s", strerror(-err));
        return err;
    }
    sys_timeout(HOUSEKEEPING_MS, housekeeping, NULL);
    return 0;
}

struct link_arg {
    bool up;
};

static int link_in_tcpip(void *arg)
{
    struct link_arg *l = arg;

    netif_tap_set_link(stack.tap, l->up);
    if (l->up && stack.cfg.dhcp && !netif_dhcp_data(netif_tap_netif(stack.tap)))
        return dhcp_start(netif_tap_netif(stack.tap)) == ERR_OK ? 0 : -EIO;
    return 0;
}

/* Plug (UP) or pull the cable, in the tcpip thread. 0 or -errno. */
int stack_set_link(bool up, unsigned timeout_ms)
{
    struct link_arg l = {up};

    return stack_call(link_in_tcpip, &l, sizeof(l), timeout_ms);
}

struct busy_arg {
    unsigned in_flight;
};

/* tcpip thread: pull the cable only while the TX ring holds frames. */
static int link_down_if_busy(void *arg)
{
    struct busy_arg *b = arg;

    b->in_flight = netif_tap_tx_in_flight(stack.tap);
    if (b->in_flight == 0)
        return -EAGAIN;
    netif_tap_set_link(stack.tap, false);
    events_emit("link-fault", "\"when\":\"tx-busy\",\"in_flight\":%u", b->in_flight);
    return 0;
}

/* Pull the cable at a moment the TX ring has frames in flight (the DMA
 * engine then completes them unsent). Retries until TIMEOUT_MS; -EAGAIN if
 * the ring never held a frame meanwhile. */
int stack_set_link_when_tx_busy(unsigned timeout_ms)
{
    uint64_t deadline = base_now_ns() + (uint64_t)timeout_ms * 1000000u;
    struct busy_arg b;
    int r;

    do {
        struct timespec pause = {0, 100000};

        r = stack_call(link_down_if_busy, &b, sizeof(b), timeout_ms);
        if (r != -EAGAIN)
            return r;
        nanosleep(&pause, NULL);
    } while (base_now_ns() < deadline);
    return -EAGAIN;
}

/* tcpip thread: join the --igmp-join groups. 0 or -EIO (logged). */
static int igmp_join_in_tcpip(void *arg)
{
    (void)arg;
#if LWIP_IGMP
    for (unsigned i = 0; i < stack.cfg.nigmp_join; i++) {
        ip4_addr_t g;
        err_t e;

        ip4_addr_set_u32(&g, stack.cfg.igmp_join[i]);
        e = igmp_joingroup_netif(netif_tap_netif(stack.tap), &g);
        if (e != ERR_OK) {
            log_err("stack", "--igmp-join %s: lwIP answered err_t %d", ip4addr_ntoa(&g), e);
            return -EIO;
        }
        log_info("stack", "joined IGMP group %s", ip4addr_ntoa(&g));
    }
    return 0;
#else
    log_err("stack", "--igmp-join: this lwIP is built without IGMP (LWIP_IGMP 0)");
    return stack.cfg.nigmp_join ? -EOPNOTSUPP : 0;
#endif
}

static void tcpip_ready(void *arg)
{
    sem_post(arg);
}

/* Start lwIP (tcpip thread), add the TAP netif, start the apps, call
 * cfg->on_netif_up, start the driver threads and the churn server, bring the link up, join the
 * --igmp-join groups. 0 or -errno
 * (logged). */
int stack_start(struct netif_tap *tap, const struct stack_config *cfg)
{
    sem_t ready;
    int err;

    stack.tap = tap;
    stack.cfg = *cfg;
    sem_init(&ready, 0, 0);
    tcpip_init(tcpip_ready, &ready);
    while (sem_wait(&ready) != 0 && errno == EINTR)
        ;
    sem_destroy(&ready);
    log_info("stack", "lwIP %d.%d.%d up", LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR,
             LWIP_VERSION_REVISION);

    err = stack_call(setup_in_tcpip, NULL, 0, 5000);
    if (err)
        return err;
    if (cfg->on_netif_up && (err = cfg->on_netif_up(netif_tap_netif(tap), cfg->on_netif_up_arg)))
        return err;
    err = netif_tap_start(tap);
    if (err) {
        log_err("stack", "driver threads: %s", strerror(-err));
        return err;
    }
    /* The churn server uses the sockets API: started from here, not from
     * the tcpip thread. */
    if (cfg->churn && (err = churn_start(&cfg->churn_cfg)) != 0)
        return err;
    err = stack_set_link(true, 5000);
    if (err || cfg->nigmp_join == 0)
        return err;
    return stack_call(igmp_join_in_tcpip, NULL, 0, 5000);
}
