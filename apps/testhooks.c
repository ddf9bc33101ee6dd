/* SPDX-License-Identifier: MIT */
/* Test-only damage done on purpose (lwipd --test-hooks). Each hook repeats
 * a mistake from the field so that a test can check that lwipd's detectors
 * name it. */
#include "lwipd_config.h"
#include "apps/testhooks.h"

#include <errno.h>
#include <time.h>

#include "lwip/pbuf.h"

/* The pbuf chain free mistake, in the tcpip thread (a stack_fn): allocate
 * a chain of PBUF_POOL pbufs and free it from its second element.
 * pbuf_free() releases the second pbuf and everything after it; the head
 * is never freed (one PBUF_POOL element leaks) and keeps pointing at pbufs
 * that went back to the pool, so it must never be touched again. ARG is a
 * struct testhooks_wrong_free. Returns 0, -ENOMEM (pool empty) or -EINVAL
 * (the pool buffers are so large that the chain has one element; nothing
 * leaked). */
__attribute__((noinline)) int testhooks_pbuf_wrong_free(void *arg)
{
    struct testhooks_wrong_free *r = arg;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, 3 * PBUF_POOL_BUFSIZE, PBUF_POOL);

    if (!p)
        return -ENOMEM;
    r->chain = pbuf_clen(p);
    if (r->chain < 2) {
        pbuf_free(p);
        return -EINVAL;
    }
    r->freed = pbuf_free(p->next); /* the bug: not the head */
    r->head_leaked = 1;
    return 0;
}

/* A wedged stack, in the tcpip thread (a stack_fn): block it for
 * struct testhooks_stall's ms, as a driver spinning with the core lock held
 * would. Signals (the emulated IRQs) do not shorten the stall. Returns 0. */
int testhooks_stall(void *arg)
{
    const struct testhooks_stall *s = arg;
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->ms / 1000;
    until.tv_nsec += (long)(s->ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
    return 0;
}
