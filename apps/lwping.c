/* SPDX-License-Identifier: MIT */
/* ICMP echo requests sent by lwIP itself, on a raw pcb, paced by sys_timeout
 * in the tcpip thread. One run at a time. */
#include "lwipd_config.h"
#include "apps/lwping.h"

#include <errno.h>
#include <string.h>

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#include "base/base.h"

#define LWPING_ID       0x4c57 /* "LW" */
#define LWPING_DATA_LEN 32
#define LWPING_MAX      1000

static struct {
    struct raw_pcb *pcb;
    struct lwping_params p;
    lwping_done_cb done;
    void *arg;
    uint16_t seq_base;
    uint32_t sent;
    struct lwping_result res;
    double rtt_sum;
    uint64_t sent_ns[LWPING_MAX];
    uint8_t got[LWPING_MAX];
} run;

static uint64_t runs;        /* started so far */
static volatile int running; /* read by the control thread */

static void finish(void *unused);
static void send_next(void *unused);

static u8_t recv_cb(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    struct icmp_echo_hdr echo;
    u16_t hlen;
    uint32_t idx;

    (void)arg, (void)pcb;
    if (p->tot_len < IP_HLEN || ip4_addr_get_u32(ip_2_ip4(addr)) != run.p.addr)
        return 0;
    hlen = (u16_t)(IPH_HL((struct ip_hdr *)p->payload) * 4); /* IPH_HL_BYTES: 2.1+ */
    if (pbuf_copy_partial(p, &echo, sizeof(echo), hlen) != sizeof(echo) || echo.type != ICMP_ER ||
        echo.id != PP_HTONS(LWPING_ID))
        return 0; /* not ours: let lwIP have it */
    idx = (uint16_t)(lwip_ntohs(echo.seqno) - run.seq_base);
    if (idx < run.sent) {
        if (run.got[idx]) {
            run.res.duplicates++;
        } else {
            double ms = (double)(base_now_ns() - run.sent_ns[idx]) / 1e6;
            run.got[idx] = 1;
            run.res.received++;
            run.rtt_sum += ms;
            if (run.res.received == 1 || ms < run.res.rtt_min_ms)
                run.res.rtt_min_ms = ms;
            if (ms > run.res.rtt_max_ms)
                run.res.rtt_max_ms = ms;
        }
    }
    pbuf_free(p);
    if (run.res.received == run.p.count) {
        sys_untimeout(send_next, NULL);
        sys_untimeout(finish, NULL);
        finish(NULL);
    }
    return 1;
}

static void send_next(void *unused)
{
    struct pbuf *p;
    struct icmp_echo_hdr *echo;
    ip_addr_t dst;

    (void)unused;
    p = pbuf_alloc(PBUF_IP, sizeof(*echo) + LWPING_DATA_LEN, PBUF_RAM);
    if (p) {
        echo = p->payload;
        ICMPH_TYPE_SET(echo, ICMP_ECHO);
        ICMPH_CODE_SET(echo, 0);
        echo->id = PP_HTONS(LWPING_ID);
        echo->seqno = lwip_htons((u16_t)(run.seq_base + run.sent));
        for (int i = 0; i < LWPING_DATA_LEN; i++)
            ((u8_t *)(echo + 1))[i] = (u8_t)i;
        echo->chksum = 0;
        echo->chksum = inet_chksum(echo, p->len);
        ip_addr_set_ip4_u32(&dst, run.p.addr);
        run.sent_ns[run.sent] = base_now_ns();
        raw_sendto(run.pcb, p, &dst);
        pbuf_free(p);
    }
    run.sent++;
    run.res.transmitted = run.sent;
    if (run.sent < run.p.count)
        sys_timeout(run.p.interval_ms, send_next, NULL);
    else
        sys_timeout(run.p.timeout_ms, finish, NULL);
}

static void finish(void *unused)
{
    struct lwping_result res = run.res;
    lwping_done_cb done = run.done;
    void *arg = run.arg;

    (void)unused;
    if (res.received)
        res.rtt_avg_ms = run.rtt_sum / res.received;
    raw_remove(run.pcb);
    run.pcb = NULL;
    running = 0;
    done(arg, &res);
}

/* Start a run (tcpip thread). DONE is called once at the end, in the tcpip
 * thread. Returns 0, -EBUSY (a run is going on), -EINVAL or -ENOMEM. */
int lwping_start(const struct lwping_params *p, lwping_done_cb done, void *arg)
{
    if (run.pcb)
        return -EBUSY;
    if (p->count == 0 || p->count > LWPING_MAX)
        return -EINVAL;
    memset(&run, 0, sizeof(run));
    run.pcb = raw_new(IP_PROTO_ICMP);
    if (!run.pcb)
        return -ENOMEM;
    run.p = *p;
    run.done = done;
    run.arg = arg;
    run.seq_base = (uint16_t)LWIP_RAND();
    runs++;
    running = 1;
    raw_recv(run.pcb, recv_cb, NULL);
    raw_bind(run.pcb, IP_ADDR_ANY);
    send_next(NULL);
    return 0;
}

/* 1 while a run is going on, else 0 (any thread, racy). */
int lwping_running(void)
{
    return running;
}

/* Runs started so far (any thread, racy). */
uint64_t lwping_runs(void)
{
    return runs;
}
