/* SPDX-License-Identifier: MIT */
/* lwipd command line. One table holds every option: getopt_long's array and
 * --help are both generated from it, so they cannot drift apart. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/buildinfo.h"
#include "port/log.h"

typedef int (*opt_set_fn)(struct args *a, const char *v, char *err, size_t errlen);

struct opt_def {
    const char *name;
    const char *arg; /* NULL: a flag without argument */
    const char *help;
    opt_set_fn set;
};

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long x;

    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max || v[0] == '-')
        return -EINVAL;
    *out = x;
    return 0;
}

/* Parse dotted-quad IPv4 into network byte order. 0 or -EINVAL. */
int args_parse_ipv4(const char *s, uint32_t *addr)
{
    struct in_addr in;

    if (inet_pton(AF_INET, s, &in) != 1)
        return -EINVAL;
    *addr = in.s_addr;
    return 0;
}

/* Parse aa:bb:cc:dd:ee:ff. A multicast address is refused. 0 or -EINVAL. */
int args_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
        6)
        return -EINVAL;
    if (v[0] & 1)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

static int set_tap(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || strlen(v) >= 16 || strchr(v, '/'))
        return ERR("--tap: '%s' is not a valid interface name (1-15 characters)", v);
    a->tap = v;
    return 0;
}

static int set_create_tap(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->create_tap = true;
    return 0;
}

static int set_ip(struct args *a, const char *v, char *err, size_t errlen)
{
    char buf[64];
    char *slash;
    unsigned long len = 24;

    snprintf(buf, sizeof(buf), "%s", v);
    slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        if (parse_uint(slash + 1, 1, 32, &len))
            return ERR("--ip: bad prefix length in '%s' (1-32)", v);
    }
    if (args_parse_ipv4(buf, &a->ip) || a->ip == 0)
        return ERR("--ip: '%s' is not ADDR/LEN (e.g. 198.18.0.2/24)", v);
    a->mask = htonl(len == 32 ? 0xffffffffu : ~(0xffffffffu >> len));
    a->ip_set = true;
    return 0;
}

static int set_gw(struct args *a, const char *v, char *err, size_t errlen)
{
    if (args_parse_ipv4(v, &a->gw))
        return ERR("--gw: '%s' is not an IPv4 address", v);
    return 0;
}

static int set_mac(struct args *a, const char *v, char *err, size_t errlen)
{
    if (args_parse_mac(v, a->mac))
        return ERR("--mac: '%s' is not a unicast aa:bb:cc:dd:ee:ff", v);
    a->mac_set = true;
    return 0;
}

static int set_mtu(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 576, 9000, &x))
        return ERR("--mtu: '%s' is not between 576 and 9000", v);
    a->mtu = (int)x;
    return 0;
}

static int set_dhcp(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->dhcp = true;
    return 0;
}

static int set_control(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || strlen(v) >= 108)
        return ERR("--control: path must be 1-107 characters");
    a->control = v;
    return 0;
}

static int set_pcap(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--pcap: empty path");
    a->pcap = v;
    return 0;
}

static int set_pcap_snaplen(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 14, 262144, &x))
        return ERR("--pcap-snaplen: '%s' is not between 14 and 262144", v);
    a->pcap_snaplen = (unsigned)x;
    return 0;
}

static int set_log_level(struct args *a, const char *v, char *err, size_t errlen)
{
    if (log_level_parse(v, &a->log_level))
        return ERR("--log-level: '%s' is not err, warn, info or debug", v);
    return 0;
}

static int set_log_file(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--log-file: empty path");
    a->log_file = v;
    return 0;
}

static int set_ready_fd(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 3, INT_MAX, &x))
        return ERR("--ready-fd: '%s' is not a file descriptor >= 3", v);
    a->ready_fd = (int)x;
    return 0;
}

static int set_tx_mode(struct args *a, const char *v, char *err, size_t errlen)
{
    if (tx_mode_parse(v, &a->tx_mode))
        return ERR("--tx-mode: '%s' is not sync or ring", v);
    return 0;
}

static int set_ring_size(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 2, 65536, &x))
        return ERR("--ring-size: '%s' is not between 2 and 65536", v);
    a->ring_size = (unsigned)x;
    return 0;
}

static int set_txc_coalesce(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 1, 65536, &x))
        return ERR("--txc-coalesce: '%s' is not between 1 and 65536", v);
    a->txc_coalesce = (unsigned)x;
    return 0;
}

static int set_txc_free(struct args *a, const char *v, char *err, size_t errlen)
{
    if (txc_free_parse(v, &a->txc_free))
        return ERR("--txc-free: '%s' is not isr, callback or task", v);
    return 0;
}

static int set_irq_policy(struct args *a, const char *v, char *err, size_t errlen)
{
    if (irq_policy_parse(v, &a->irq_policy))
        return ERR("--irq-policy: '%s' is not detect, rtos or posix", v);
    return 0;
}

static int set_irq_target(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || strlen(v) >= 32)
        return ERR("--irq-target: thread name must be 1-31 characters");
    a->irq_target = v;
    return 0;
}

static int set_report_dir(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || strlen(v) > 400)
        return ERR("--report-dir: path must be 1-400 characters");
    a->report_dir = v;
    return 0;
}

static int set_fatal_action(struct args *a, const char *v, char *err, size_t errlen)
{
    if (fatal_action_parse(v, &a->fatal_action))
        return ERR("--fatal-action: '%s' is not exit, abort or hold", v);
    return 0;
}

static int set_watchdog_ms(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 0, 3600000, &x) || (x != 0 && x < 500))
        return ERR("--watchdog-ms: '%s' is not 0 (off) or 500-3600000", v);
    a->watchdog_ms = (unsigned)x;
    return 0;
}

static int set_txc_delay_us(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 0, 1000000, &x))
        return ERR("--txc-delay-us: '%s' is not 0-1000000", v);
    a->txc_delay_us = (unsigned)x;
    return 0;
}

static int set_txc_jitter_us(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 0, 1000000, &x))
        return ERR("--txc-jitter-us: '%s' is not 0-1000000", v);
    a->txc_jitter_us = (unsigned)x;
    return 0;
}

static int set_txc_coalesce_us(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 0, 1000000, &x))
        return ERR("--txc-coalesce-us: '%s' is not 0-1000000", v);
    a->txc_coalesce_us = (unsigned)x;
    return 0;
}

static int set_single_core(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->single_core = true;
    return 0;
}

static int set_events(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--events: empty path");
    a->events = v;
    return 0;
}

static int set_seed(struct args *a, const char *v, char *err, size_t errlen)
{
    char *end;

    errno = 0;
    a->seed = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-')
        return ERR("--seed: '%s' is not a number", v);
    a->seed_set = true;
    return 0;
}

static int set_link_flap(struct args *a, const char *v, char *err, size_t errlen)
{
    char why[160];

    if (link_flap_parse(v, &a->link_flap, why, sizeof(why)))
        return ERR("--link-flap: %s", why);
    a->link_flap_set = true;
    return 0;
}

static int set_fault(struct args *a, const char *v, char *err, size_t errlen)
{
    if (a->nfaults == (int)(sizeof(a->faults) / sizeof(a->faults[0])))
        return ERR("--fault: at most %zu rules on the command line (use --fault-file)",
                   sizeof(a->faults) / sizeof(a->faults[0]));
    a->faults[a->nfaults++] = v;
    return 0;
}

static int set_fault_file(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--fault-file: empty path");
    a->fault_file = v;
    return 0;
}

static int set_pcap_filter(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--pcap-filter: empty filter");
    a->pcap_filter = v;
    return 0;
}

static int set_pcap_rotate(struct args *a, const char *v, char *err, size_t errlen)
{
    char *end;
    double size;
    unsigned long count;

    errno = 0;
    size = strtod(v, &end);
    if (errno || end == v || size <= 0)
        return ERR("--pcap-rotate: '%s' is not SIZE:COUNT (e.g. 100M:5)", v);
    if (*end == 'k' || *end == 'K')
        size *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        size *= 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        size *= 1e9, end++;
    if (*end != ':' || parse_uint(end + 1, 1, 1000, &count) || size < 1024)
        return ERR("--pcap-rotate: '%s' is not SIZE:COUNT (size >= 1K, count 1-1000)", v);
    a->pcap_rotate_bytes = (uint64_t)size;
    a->pcap_rotate_count = (unsigned)count;
    return 0;
}

static int set_no_echo(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->echo = false;
    return 0;
}

static int set_no_lwiperf(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->lwiperf = false;
    return 0;
}

static int set_churn(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->churn = true;
    return 0;
}

static int set_churn_port(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 1, 65535, &x))
        return ERR("--churn-port: '%s' is not a TCP port (1-65535)", v);
    a->churn_cfg.port = (uint16_t)x;
    a->churn = true;
    return 0;
}

static int set_churn_serialize(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->churn_cfg.serialize = true;
    a->churn = true;
    return 0;
}

static int set_churn_select_ms(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 1, 10000, &x))
        return ERR("--churn-select-ms: '%s' is not between 1 and 10000", v);
    a->churn_cfg.select_ms = (unsigned)x;
    a->churn = true;
    return 0;
}

/* "idle=MS,requests=N,random=PERMILLE,peer=0|1", any subset, in any order.
 * peer=0: a socket whose peer left waits for the idle rule (lazy cleanup). */
static int set_churn_close(struct args *a, const char *v, char *err, size_t errlen)
{
    static const char *const keys[] = {"idle", "requests", "random", "peer"};
    static const unsigned long max[] = {3600000, 1000000, 1000, 1};
    char buf[128], *save = NULL;

    if (strlen(v) >= sizeof(buf))
        return ERR("--churn-close: '%s' is too long", v);
    snprintf(buf, sizeof(buf), "%s", v);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        unsigned long x;
        size_t k;

        if (!eq)
            return ERR("--churn-close: '%s' is not KEY=N", tok);
        *eq = '\0';
        for (k = 0; k < 4 && strcmp(tok, keys[k]) != 0; k++)
            ;
        if (k == 4)
            return ERR("--churn-close: unknown key '%s' (idle, requests, random, peer)", tok);
        if (parse_uint(eq + 1, 0, max[k], &x))
            return ERR("--churn-close: %s=%s is not between 0 and %lu", tok, eq + 1, max[k]);
        if (k == 0)
            a->churn_cfg.idle_ms = (unsigned)x;
        else if (k == 1)
            a->churn_cfg.close_after = (unsigned)x;
        else if (k == 2)
            a->churn_cfg.random_permille = (unsigned)x;
        else
            a->churn_cfg.linger_peer_gone = x == 0;
    }
    a->churn = true;
    return 0;
}

static int set_test_hooks(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->test_hooks = true;
    return 0;
}

static int set_no_iperf3(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->iperf3 = false;
    return 0;
}

static int set_iperf3_port(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 1, 65535, &x))
        return ERR("--iperf3-port: '%s' is not a port (1-65535)", v);
    a->iperf3_port = (uint16_t)x;
    return 0;
}

static const struct opt_def opts[] = {
    {"tap", "NAME", "TAP interface to attach to (required)", set_tap},
    {"create-tap", NULL, "create the TAP if it does not exist (needs CAP_NET_ADMIN)",
     set_create_tap},
    {"ip", "ADDR/LEN", "lwIP's IPv4 address, e.g. 198.18.0.2/24", set_ip},
    {"gw", "ADDR", "default gateway", set_gw},
    {"dhcp", NULL, "get the address by DHCP instead of --ip", set_dhcp},
    {"mac", "MAC", "lwIP's MAC (default: stable 02:4c:77:.. from the TAP name)", set_mac},
    {"mtu", "N", "lwIP's MTU (default: the TAP's)", set_mtu},
    {"control", "PATH", "control socket (default: /run/lwipd/TAP.sock)", set_control},
    {"pcap", "FILE", "capture every frame crossing the TAP to FILE (pcap, ns)", set_pcap},
    {"pcap-snaplen", "N", "keep at most N bytes of each captured frame (default: all)",
     set_pcap_snaplen},
    {"pcap-filter", "BPF", "capture only frames matching this libpcap filter", set_pcap_filter},
    {"pcap-rotate", "SIZE:N", "start a new file past SIZE (e.g. 100M), keep N files",
     set_pcap_rotate},
    {"log-level", "LEVEL", "err, warn, info (default) or debug", set_log_level},
    {"log-file", "FILE", "log to FILE instead of stderr", set_log_file},
    {"ready-fd", "FD", "write one READY line to FD when up, then close it", set_ready_fd},
    {"tx-mode", "MODE", "ring (EMAC-like, default) or sync (write in linkoutput)", set_tx_mode},
    {"ring-size", "N", "TX descriptors in ring mode (default 256)", set_ring_size},
    {"txc-coalesce", "N", "raise the TX-complete IRQ every N frames (default 16)",
     set_txc_coalesce},
    {"txc-coalesce-us", "T", "...or T us after the first unsignalled completion (0: off)",
     set_txc_coalesce_us},
    {"txc-delay-us", "T", "TX completion takes T us after the write (wire time)", set_txc_delay_us},
    {"txc-jitter-us", "T", "plus up to T us of random jitter", set_txc_jitter_us},
    {"txc-free", "HOW", "TX-complete ISR frees by: task (default), callback, isr", set_txc_free},
    {"irq-policy", "P", "ISR rule breaks: detect (default), rtos, posix", set_irq_policy},
    {"irq-target", "THREAD",
     "thread the IRQs interrupt: stack (default: whoever is in lwIP), tcpip or another lwIP thread",
     set_irq_target},
    {"single-core", NULL, "pin every lwipd thread to one CPU, as on the MCU", set_single_core},
    {"watchdog-ms", "MS", "report a tcpip thread stalled for MS (default 5000, 0: off)",
     set_watchdog_ms},
    {"fatal-action", "A", "after a crash report: exit (code 3, default), abort, hold",
     set_fatal_action},
    {"report-dir", "DIR",
     "crash reports go here (default: $LOGS_DIRECTORY, the capture's "
     "directory, or /tmp)",
     set_report_dir},
    {"events", "FILE", "events log: link edges, faults, violations (JSON lines)", set_events},
    {"seed", "N", "seed of every fault decision (default: random, logged)", set_seed},
    {"link-flap", "P[:D[:N[:J]]]", "pull the cable every P ms for D ms, N times, +-J ms",
     set_link_flap},
    {"fault", "RULE", "a fault rule, e.g. 'tx drop 30% \"arp\"' (repeatable; see README)",
     set_fault},
    {"fault-file", "FILE", "fault rules, one per line (re-read on SIGHUP)", set_fault_file},
    {"no-echo", NULL, "do not start echo/discard/chargen (7, 9, 19)", set_no_echo},
    {"no-lwiperf", NULL, "do not start lwiperf (iperf2, TCP 5001)", set_no_lwiperf},
    {"churn", NULL, "start the socket churn server (sockets API, seed 003)", set_churn},
    {"churn-port", "PORT", "churn server's TCP port (default 7777)", set_churn_port},
    {"churn-close", "SPEC",
     "closer schedule: idle=MS,requests=N,random=PERMILLE,peer=0|1 (idle=200,peer=1)",
     set_churn_close},
    {"churn-select-ms", "MS", "the churn selector's lwip_select() timeout (default 5)",
     set_churn_select_ms},
    {"churn-serialize", NULL, "seed 003's workaround: select and close never overlap",
     set_churn_serialize},
    {"test-hooks", NULL, "enable test-only commands that damage the stack on purpose",
     set_test_hooks},
    {"no-iperf3", NULL, "do not start the iperf3 server", set_no_iperf3},
    {"iperf3-port", "N", "iperf3 server's TCP and UDP port (default 5201)", set_iperf3_port},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Defaults: see the option table. */
void args_init(struct args *a)
{
    memset(a, 0, sizeof(*a));
    a->log_level = LOG_INFO;
    a->ready_fd = -1;
    a->tx_mode = TX_MODE_RING;
    a->ring_size = 256;
    a->txc_coalesce = 16;
    a->txc_free = TXC_FREE_TASK;
    a->irq_policy = IRQ_POLICY_DETECT;
    a->irq_target = "stack";
    a->fatal_action = FATAL_EXIT;
    a->watchdog_ms = 5000;
    a->echo = true;
    a->lwiperf = true;
    a->churn_cfg.port = 7777;
    a->churn_cfg.select_ms = 5;
    a->churn_cfg.idle_ms = 200;
    a->churn_cfg.closer_ms = 2;
    a->iperf3 = true;
    a->iperf3_port = 5201;
}

void args_usage(FILE *out)
{
    fprintf(out, "Usage: lwipd --tap NAME (--ip ADDR/LEN | --dhcp) [OPTION]...\n"
                 "Run the lwIP TCP/IP stack on a Linux TAP interface.\n\nOptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[48];
        snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(out, "  %-26s %s\n", left, opts[i].help);
    }
    fprintf(out, "  %-26s %s\n  %-26s %s\n", "-h, --help", "show this help and exit",
            "-V, --version", "show versions and lwIP build options, then exit");
    fprintf(out, "\nExit status:\n"
                 "  0   stopped by SIGTERM/SIGINT or the shutdown command\n"
                 "  64  usage error (EX_USAGE)\n"
                 "  69  TAP missing or control socket in use (EX_UNAVAILABLE)\n"
                 "  70  internal error: lwIP did not come up (EX_SOFTWARE)\n"
                 "  71  system error: threads, sockets (EX_OSERR)\n"
                 "  73  cannot create the capture, log or socket file (EX_CANTCREAT)\n"
                 "  77  not permitted to open or create the TAP (EX_NOPERM)\n"
                 "  3   a fault was found: lwIP assert, ISR rule break, crash or wedged\n"
                 "      stack; the crash report's path is on stderr (--fatal-action abort:\n"
                 "      killed by SIGABRT instead)\n");
}

/* Parse ARGV into A (which args_init() prepared). Errors are printed. */
enum args_result args_parse(struct args *a, int argc, char **argv)
{
    struct option lopts[NOPTS + 3];
    char err[256];
    int c, idx;

    for (size_t i = 0; i < NOPTS; i++) {
        lopts[i].name = opts[i].name;
        lopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
        lopts[i].flag = NULL;
        lopts[i].val = 1000 + (int)i;
    }
    lopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[NOPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[NOPTS + 2] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", lopts, &idx)) != -1) {
        if (c == 'h') {
            args_usage(stdout);
            return ARGS_EXIT;
        }
        if (c == 'V') {
            buildinfo_print(stdout);
            return ARGS_EXIT;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "lwipd: %s option '%s'\nTry 'lwipd --help'.\n",
                    c == ':' ? "missing argument for" : "unknown", argv[optind - 1]);
            return ARGS_USAGE;
        }
        const struct opt_def *o = &opts[c - 1000];
        if (o->set(a, optarg ? optarg : "", err, sizeof(err))) {
            fprintf(stderr, "lwipd: %s\n", err);
            return ARGS_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lwipd: unexpected argument '%s'\nTry 'lwipd --help'.\n", argv[optind]);
        return ARGS_USAGE;
    }
    if (!a->tap) {
        fprintf(stderr, "lwipd: --tap NAME is required\nTry 'lwipd --help'.\n");
        return ARGS_USAGE;
    }
    if (a->ip_set == a->dhcp) {
        fprintf(stderr, "lwipd: give exactly one of --ip ADDR/LEN and --dhcp\n");
        return ARGS_USAGE;
    }
    if (a->gw && a->dhcp) {
        fprintf(stderr, "lwipd: --gw comes from DHCP when --dhcp is used\n");
        return ARGS_USAGE;
    }
    return ARGS_OK;
}
