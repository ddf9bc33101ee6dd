/* SPDX-License-Identifier: MIT */
/* libFuzzer target: sequences of Ethernet frames through netif_tap's RX path
 * (frame observer = a capture to /dev/null, the fault injector) into lwIP
 * with lwipd's port and options, its echo/discard/chargen services
 * listening (TCP and UDP 7, 9, 19), the DHCP client running and an IGMP
 * group joined.
 *
 * Input format (the seeds: tests/fuzz/frame_seeds.py):
 *   byte 0        fault rules for this input, one bit each (fault_bits[])
 *   then records, each starting with an op byte:
 *   0x00-0x3f     a frame of ((op & 0x1f) << 8 | next byte) bytes (cut at
 *                 the input's end); with bit 0x20 clear the harness first
 *                 fixes the IPv4 header checksum and, when the datagram is
 *                 not a fragment, the TCP/UDP/ICMP/IGMP checksum (lwipd
 *                 checks them all); with it set the bytes go as they are
 *   0x40-0x7f     advance lwIP's clock by (op - 0x3f) * 10 ms
 *   0x80-0xff     advance lwIP's clock by (op - 0x7f) s
 *
 * How lwIP runs here, and why. lwipd runs lwIP with a tcpip thread and the
 * core lock, and (LWIP_TCPIP_CORE_LOCKING_INPUT) its RX thread feeds frames
 * to ethernet_input itself under that lock. This harness does what
 * tcpip_init() does except start the thread: lwip_init(), then the core
 * lock; frames go in through netif_tap_rx_inject() (the RX thread's own path
 * after the read, which takes the core lock), timers run in this thread
 * from lwIP's sys_check_timeouts() on a fake clock. A tcpip thread would
 * run timers on its own schedule, and lwIP 2.0.x's thread even walks the
 * timer list without the lock: no deterministic replay. The link-time
 * wrappers (meson.build: -Wl,--wrap=...) make the run deterministic:
 *   sys_now       the fake clock, advanced only by the input;
 *   port_rand     LWIP_RAND (DHCP xid...): a fixed stream per input;
 *   tcp_next_iss  passive opens' ISN: fixed, so inputs can complete a
 *                 handshake (the SYN-ACK carries ISN 0x00010000);
 *   port_assert   LWIP_PLATFORM_ASSERT, and fatal_report (port's checks,
 *                 e.g. a core function called without the lock): abort(),
 *                 so that libFuzzer records a crash - but for the known
 *                 lwIP asserts of known_asserts.c;
 *   ip4_reass     noted as running, for known_asserts.c.
 * After each input the harness puts lwIP back where it started: aborts every
 * TCP connection, stops DHCP, lets 20-80 s of timers run (reassembly, IGMP
 * and echo idle state expire; the clock ends on a whole minute, so every
 * input meets the timers at the same phase), empties the ARP table,
 * restores the address and restarts DHCP. lwIP's own counters (ip_id,
 * tcp_ticks) carry over, which no frame's handling depends on. Then every memp pool must be back at
 * its baseline: a pool element still in use is a leak LeakSanitizer cannot see (lwIP's pools and
 * heap are static arrays), so it aborts. */
#include "lwipd_config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/igmp.h"
#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"

#include "apps/echo.h"
#include "known_asserts.h"
#include "base/log.h"
#include "capture/capture.h"
#include "fault_inject/fault.h"
#include "netif_tap/netif_tap.h"

#if !LWIP_TCPIP_CORE_LOCKING_INPUT
#error "fuzz_frame feeds frames synchronously: needs LWIP_TCPIP_CORE_LOCKING_INPUT"
#endif

#define OUR_IP     0xc6120002u /* 198.18.0.2/24, gateway 198.18.0.1 */
#define OUR_MASK   0xffffff00u
#define OUR_GW     0xc6120001u
#define GROUP_IP   0xe0000101u /* 224.0.1.1, joined */
#define FIXED_ISN  0x00010000u
#define RESET_SECS 20 /* > IP_REASS_MAXAGE, IGMP's and the echo idle limit */
#define ECHO_IDLE  10
#define STEP_MS    250   /* the most the clock moves between timer checks */
#define PHASE_MS   60000 /* every cyclic timer's interval divides it */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
u32_t __wrap_sys_now(void);
uint32_t __wrap_port_rand(void);
u32_t __wrap_tcp_next_iss(void *pcb);
void __wrap_port_assert(const char *msg, int line, const char *file);
void __wrap_fatal_report(const char *kind, const char *message);

static struct netif_tap *tap;
static struct netif *nif;
static u32_t fake_now = 1000;
static uint64_t rand_state;
static u16_t pool_baseline[MEMP_MAX];
static bool info; /* FUZZ_FRAME_INFO set */
static unsigned long inputs_run;

/* ---- link-time wrappers (see the header) -------------------------------- */

u32_t __wrap_sys_now(void)
{
    return fake_now;
}

uint32_t __wrap_port_rand(void)
{
    rand_state = rand_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rand_state >> 32);
}

u32_t __wrap_tcp_next_iss(void *pcb)
{
    (void)pcb; /* 2.0.x passes none: not read */
    return FIXED_ISN;
}

/* lwIP's asserts: a crash, but for the known ones (known_asserts.c). */
void __wrap_port_assert(const char *msg, int line, const char *file)
{
    switch (known_asserts_check(msg, line, file)) {
    case KNOWN_PASS:
        return;
    case KNOWN_END:
        known_asserts_report(inputs_run);
        fprintf(stderr, "fuzz_frame: known lwIP assert, input abandoned: %s (%s:%d)\n", msg, file,
                line);
        _exit(KNOWN_END_STATUS);
    case KNOWN_NONE:
        break;
    }
    fprintf(stderr, "lwIP assertion failed: %s (%s:%d)\n", msg, file, line);
    abort();
}

void __wrap_fatal_report(const char *kind, const char *message)
{
    fprintf(stderr, "fatal report: %s: %s\n", kind, message);
    abort();
}

/* ---- lwIP, entered the way lwipd does ----------------------------------- */

#if LWIP_VERSION_MAJOR == 2 && LWIP_VERSION_MINOR == 0
static sys_mbox_t timer_mbox; /* see run_timers() */
#endif

/* Run the timers due by the fake clock. lwIP 2.1+ exports
 * sys_check_timeouts() and wants the core lock held around it. 2.0.x keeps
 * it static (NO_SYS=0) and runs it from sys_timeouts_mbox_fetch(), the
 * tcpip thread's wait, which takes the core lock around each handler: it
 * is given a mailbox already holding a message, so it runs what is due and
 * returns without waiting. */
static void run_timers(void)
{
#if LWIP_VERSION_MAJOR == 2 && LWIP_VERSION_MINOR == 0
    static int token;
    void *msg;

    if (sys_mbox_trypost(&timer_mbox, &token) != ERR_OK)
        abort();
    sys_timeouts_mbox_fetch(&timer_mbox, &msg);
#else
    LOCK_TCPIP_CORE();
    sys_check_timeouts();
    UNLOCK_TCPIP_CORE();
#endif
}

/* Move the clock MS forward, at most STEP_MS at a time while TCP has
 * connections (a tcpip thread wakes for each of TCP's 250 ms ticks), a
 * second at a time otherwise: timer checks are most of the harness's time,
 * and coarser steps only stretch IGMP's (100 ms) and DHCP's (500 ms) ticks
 * on lwIP 2.1+, whose cyclic timers skip the ticks they missed. */
static void advance(u32_t ms)
{
    while (ms > 0) {
        u32_t most = tcp_active_pcbs || tcp_tw_pcbs ? STEP_MS : 1000;
        u32_t step = ms < most ? ms : most;

        fake_now += step;
        ms -= step;
        run_timers();
    }
}

/* ---- checksums ----------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)(p[n - 1] << 8);
    return acc;
}

static void put_sum(uint8_t *at, uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    acc = ~acc & 0xffff;
    at[0] = (uint8_t)(acc >> 8);
    at[1] = (uint8_t)acc;
}

/* Make F's (LEN bytes) IPv4 header checksum right and, for a whole
 * datagram, its TCP, UDP, ICMP or IGMP checksum: the fuzzer then reaches
 * past the checks instead of stopping at them. Anything else is left. */
static void fix_checksums(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14;
    size_t ihl, tot, plen;
    uint8_t *l4;
    uint32_t acc;

    if (len < 34 || f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4)
        return;
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < 20 || 14 + ihl > len)
        return;
    ip[10] = ip[11] = 0;
    put_sum(ip + 10, sum16(ip, ihl, 0));
    tot = (size_t)(ip[2] << 8 | ip[3]);
    if (tot < ihl || 14 + tot > len || (ip[6] & 0x3f) != 0 || ip[7] != 0)
        return; /* cut short, or a fragment: lwIP checks the whole datagram */
    l4 = ip + ihl;
    plen = tot - ihl;
    switch (ip[9]) {
    case 1: /* ICMP */
    case 2: /* IGMP */
        if (plen < 4)
            return;
        l4[2] = l4[3] = 0;
        put_sum(l4 + 2, sum16(l4, plen, 0));
        return;
    case 6:  /* TCP */
    case 17: /* UDP */
        if (plen < (ip[9] == 6 ? 18u : 8u))
            return;
        acc = sum16(ip + 12, 8, 0) + ip[9] + (uint32_t)plen;
        l4 += ip[9] == 6 ? 16 : 6;
        l4[0] = l4[1] = 0;
        acc = sum16(ip + ihl, plen, acc);
        put_sum(l4, acc);
        if (ip[9] == 17 && l4[0] == 0 && l4[1] == 0)
            l4[0] = l4[1] = 0xff; /* UDP: 0 means "none" */
        return;
    default:
        return;
    }
}

/* ---- the fault injector ------------------------------------------------- */

/* Rules the input's first byte switches on, one per bit. No delay or
 * reorder: those hand frames to the delay line's thread, out of order with
 * this one. */
static const char *const fault_bits[] = {
    "rx dup 25%",
    "rx corrupt 10% bytes 14-80",
    "rx truncate 10% 60",
    "rx drop 10%",
};
#define FAULT_BITS (sizeof(fault_bits) / sizeof(fault_bits[0]))

/* A fresh injector (its random stream from a fixed seed) holding the rules
 * BITS selects, put between the driver and lwIP; NULL when none is. */
static struct fault *faults_for(uint8_t bits)
{
    struct fault *f;
    char err[256];

    if ((bits & ((1u << FAULT_BITS) - 1)) == 0)
        return NULL;
    f = fault_new(1);
    if (!f)
        abort();
    for (unsigned i = 0; i < FAULT_BITS; i++) {
        if ((bits & (1u << i)) && fault_add(f, fault_bits[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "fuzz_frame: rule '%s': %s\n", fault_bits[i], err);
            abort();
        }
    }
    netif_tap_set_faults(tap, f);
    return f;
}

/* ---- state between inputs ---------------------------------------------- */

/* The services every input meets (core lock held). */
static void start_clients(void)
{
    ip4_addr_t a, m, g;

    ip4_addr_set_u32(&a, PP_HTONL(OUR_IP));
    ip4_addr_set_u32(&m, PP_HTONL(OUR_MASK));
    ip4_addr_set_u32(&g, PP_HTONL(OUR_GW));
    netif_set_addr(nif, &a, &m, &g);
    rand_state = 0x6c776970; /* the same xid and DHCP choices every input */
    if (dhcp_start(nif) != ERR_OK)
        abort();
}

/* Put lwIP back as start_clients() left it (see the header). */
static void reset_stack(void)
{
    LOCK_TCPIP_CORE();
    while (tcp_active_pcbs)
        tcp_abort(tcp_active_pcbs);
    while (tcp_tw_pcbs)
        tcp_abort(tcp_tw_pcbs);
    dhcp_stop(nif);
    UNLOCK_TCPIP_CORE();
    /* At least RESET_SECS, up to a whole minute of the clock: every input
     * then starts at the same phase of each cyclic timer (their intervals
     * divide a minute), whatever time the one before took. */
    advance(RESET_SECS * 1000);
    advance(PHASE_MS - fake_now % PHASE_MS);
    LOCK_TCPIP_CORE();
    while (tcp_active_pcbs) /* opened by chargen's or echo's timers? none */
        tcp_abort(tcp_active_pcbs);
    etharp_cleanup_netif(nif);
    start_clients();
    UNLOCK_TCPIP_CORE();
}

/* Every pool back at its baseline, or abort (a leak of lwIP's). */
static void check_pools(void)
{
    for (int i = 0; i < MEMP_MAX; i++) {
        if (lwip_stats.memp[i] && lwip_stats.memp[i]->used != pool_baseline[i]) {
            fprintf(stderr, "fuzz_frame: pool %d (memp_t): %u in use after the reset, %u before\n",
                    i, (unsigned)lwip_stats.memp[i]->used, (unsigned)pool_baseline[i]);
            abort();
        }
    }
}

static void on_frame(void *arg, enum tap_dir dir, const struct iovec *iov, int iovcnt, size_t len,
                     uint64_t ts_ns, struct capture_note *note)
{
    capture_frame(arg, dir == TAP_DIR_RX ? CAPTURE_IN : CAPTURE_OUT, iov, iovcnt, len, ts_ns, note);
}

/* The known asserts met and the inputs run, at exit (known_asserts.c). */
static void report_at_exit(void)
{
    known_asserts_report(inputs_run);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct netif_tap_config cfg = {.ifname = "fuzz0",
                                   .mac = {0x02, 0x4c, 0x57, 0x49, 0x50, 0x02},
                                   .mac_set = true,
                                   .mtu = 1500,
                                   .tx_mode = TX_MODE_SYNC};
    struct capture *cap;
    char err[256];
    ip4_addr_t group;
    int fd;

    (void)argc;
    (void)argv;
    log_level_current = LOG_ERR; /* not a warning per input */
    lwip_init();
    if (sys_mutex_new(&lock_tcpip_core) != ERR_OK)
        abort();
#if LWIP_VERSION_MAJOR == 2 && LWIP_VERSION_MINOR == 0
    if (sys_mbox_new(&timer_mbox, 1) != ERR_OK)
        abort();
#endif
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* lwIP's replies go there */
    tap = fd >= 0 ? netif_tap_new_fd(&cfg, fd) : NULL;
    cap = capture_new(65535, NULL, err, sizeof(err));
    if (!tap || !cap || capture_start(cap, "/dev/null", err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_frame: setup failed\n");
        abort();
    }
    netif_tap_set_frame_cb(tap, on_frame, cap);
    nif = netif_tap_netif(tap);
    LOCK_TCPIP_CORE();
    if (netif_tap_add(tap, PP_HTONL(OUR_IP), PP_HTONL(OUR_MASK), PP_HTONL(OUR_GW)) != 0 ||
        echo_start(ECHO_IDLE) != 0)
        abort();
    netif_tap_set_link(tap, true);
    ip4_addr_set_u32(&group, PP_HTONL(GROUP_IP));
    if (igmp_joingroup_netif(nif, &group) != ERR_OK)
        abort();
    start_clients();
    UNLOCK_TCPIP_CORE();
    reset_stack(); /* the state every input starts from */
    for (int i = 0; i < MEMP_MAX; i++)
        pool_baseline[i] = lwip_stats.memp[i] ? lwip_stats.memp[i]->used : 0;
    info = getenv("FUZZ_FRAME_INFO") != NULL;
    known_asserts_init(getenv("FUZZ_FRAME_STRICT") != NULL);
    atexit(report_at_exit);
    if (info)
        fprintf(stderr, "fuzz_frame: lwIP %s, DHCP xid %#x\n", LWIP_VERSION_STRING,
                (unsigned)netif_dhcp_data(nif)->xid);
    return 0;
}

/* FUZZ_FRAME_INFO=1: what an input reached, for checking seeds. */
static void print_info(void)
{
    struct echo_svc_stats e[ECHO_SVC_COUNT];
    struct netif_tap_stats ts;
    struct dhcp *d = netif_dhcp_data(nif);

    for (int s = 0; s < ECHO_SVC_COUNT; s++)
        echo_get_stats((enum echo_service)s, &e[s]);
    netif_tap_get_stats(tap, &ts);
    fprintf(stderr,
            "fuzz_frame: rx %llu tx %llu fault-drops %llu; tcp accepted %llu/%llu/%llu "
            "bytes in %llu out %llu; udp in %llu; dhcp state %u addr %s; "
            "ip reassembled %u, igmp rx %u\n",
            (unsigned long long)ts.rx_frames, (unsigned long long)ts.tx_frames,
            (unsigned long long)ts.rx_fault_drop, (unsigned long long)e[0].tcp_accepted,
            (unsigned long long)e[1].tcp_accepted, (unsigned long long)e[2].tcp_accepted,
            (unsigned long long)(e[0].tcp_bytes_in + e[1].tcp_bytes_in),
            (unsigned long long)(e[0].tcp_bytes_out + e[2].tcp_bytes_out),
            (unsigned long long)e[0].udp_datagrams_in, d ? (unsigned)d->state : 0u,
            ip4addr_ntoa(netif_ip4_addr(nif)), (unsigned)lwip_stats.ip_frag.recv,
            (unsigned)lwip_stats.igmp.recv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[8192];
    struct fault *f;
    size_t i = 1;

    if (size == 0)
        return 0;
    inputs_run++;
    f = faults_for(data[0]);
    while (i < size) {
        uint8_t op = data[i++];
        size_t len;

        if (op >= 0x80) {
            advance((u32_t)(op - 0x7f) * 1000);
            continue;
        }
        if (op >= 0x40) {
            advance((u32_t)(op - 0x3f) * 10);
            continue;
        }
        if (i >= size)
            break;
        len = (size_t)(op & 0x1f) << 8 | data[i++];
        if (len > size - i)
            len = size - i;
        memcpy(frame, data + i, len);
        i += len;
        if (!(op & 0x20))
            fix_checksums(frame, len);
        netif_tap_rx_inject(tap, frame, len);
    }
    if (f) {
        netif_tap_set_faults(tap, NULL);
        fault_free(f);
    }
    if (info)
        print_info();
    reset_stack();
    check_pools();
    return 0;
}
