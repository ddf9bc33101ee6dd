/* SPDX-License-Identifier: MIT */
/* lwipd command line. One table holds every option: getopt_long's array,
 * --help, the config file's keys and --check-config's output are all
 * generated from it, so they cannot drift apart. Options are applied in two
 * layers: the config file first, then the command line on top of it. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/buildinfo.h"
#include "daemon/config.h"
#include "fault_inject/rule.h"
#include "port/log.h"

typedef int (*opt_set_fn)(struct args *a, const char *v, char *err, size_t errlen);

struct opt_def {
    const char *name;
    const char *arg; /* NULL: a flag without argument */
    const char *help;
    opt_set_fn set;
};

/* A string copied from the config file, alive as long as the args. */
struct args_str {
    struct args_str *next;
    char s[];
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
    struct fault_rule *r = calloc(1, sizeof(*r));
    char why[256];

    if (!r)
        return ERR("--fault: out of memory");
    if (fault_rule_parse(v, r, why, sizeof(why)) != 0) {
        free(r);
        return ERR("--fault: '%s': %s", v, why);
    }
    fault_rule_release(r);
    free(r);
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
    /* NaN and sizes past any disk fail here, before the cast (fuzzer find) */
    if (*end != ':' || parse_uint(end + 1, 1, 1000, &count) || !(size >= 1024 && size <= 1e15))
        return ERR("--pcap-rotate: '%s' is not SIZE:COUNT (size 1K-1000T, count 1-1000)", v);
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

static int set_config(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return ERR("--config: empty path");
    a->config = v;
    return 0;
}

static int set_check_config(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->check_config = true;
    return 0;
}

/* A user by name or number: its uid and primary group. 0 or -ENOENT. */
static int lookup_user(const char *v, uid_t *uid, gid_t *gid)
{
    const struct passwd *pw = getpwnam(v);
    unsigned long x;

    if (!pw && parse_uint(v, 0, 0x7fffffff, &x) == 0)
        pw = getpwuid((uid_t)x);
    if (pw) {
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
        return 0;
    }
    return -ENOENT;
}

/* A group by name or number (a number need not be in the group database). */
static int lookup_group(const char *v, gid_t *gid)
{
    const struct group *gr = getgrnam(v);
    unsigned long x;

    if (gr) {
        *gid = gr->gr_gid;
        return 0;
    }
    if (parse_uint(v, 0, 0x7fffffff, &x) == 0) {
        *gid = (gid_t)x;
        return 0;
    }
    return -ENOENT;
}

static int set_user(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || lookup_user(v, &a->uid, &a->user_gid) != 0)
        return ERR("--user: no such user '%s'", v);
    a->user = v;
    return 0;
}

static int set_group(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || lookup_group(v, &a->gid) != 0)
        return ERR("--group: no such group '%s'", v);
    a->group = v;
    return 0;
}

static int set_control_owner(struct args *a, const char *v, char *err, size_t errlen)
{
    gid_t ignored;

    if (!*v || lookup_user(v, &a->control_uid, &ignored) != 0)
        return ERR("--control-owner: no such user '%s'", v);
    a->control_owner = v;
    return 0;
}

static int set_control_group(struct args *a, const char *v, char *err, size_t errlen)
{
    if (!*v || lookup_group(v, &a->control_gid) != 0)
        return ERR("--control-group: no such group '%s'", v);
    a->control_group = v;
    return 0;
}

static int set_control_mode(struct args *a, const char *v, char *err, size_t errlen)
{
    char *end;
    unsigned long x;

    errno = 0;
    x = strtoul(v, &end, 8);
    if (errno || end == v || *end || v[0] == '-' || x > 0777 || (x & 0600) != 0600)
        return ERR("--control-mode: '%s' is not an octal mode from 0600 to 0777", v);
    a->control_mode = (mode_t)x;
    a->control_mode_set = true;
    return 0;
}

static int set_exit_on_tap_loss(struct args *a, const char *v, char *err, size_t errlen)
{
    (void)v, (void)err, (void)errlen;
    a->exit_on_tap_loss = true;
    return 0;
}

static const struct opt_def opts[] = {
    {"config", "FILE", "read options from FILE: one 'long-name = value' a line", set_config},
    {"check-config", NULL, "check the configuration, print the effective one and exit",
     set_check_config},
    {"tap", "NAME", "TAP interface to attach to (required)", set_tap},
    {"create-tap", NULL, "create the TAP if it does not exist (needs CAP_NET_ADMIN)",
     set_create_tap},
    {"exit-on-tap-loss", NULL, "exit (code 74) when the TAP goes away instead of waiting for it",
     set_exit_on_tap_loss},
    {"ip", "ADDR/LEN", "lwIP's IPv4 address, e.g. 198.18.0.2/24", set_ip},
    {"gw", "ADDR", "default gateway", set_gw},
    {"dhcp", NULL, "get the address by DHCP instead of --ip", set_dhcp},
    {"mac", "MAC", "lwIP's MAC (default: stable 02:4c:77:.. from the TAP name)", set_mac},
    {"mtu", "N", "lwIP's MTU (default: the TAP's)", set_mtu},
    {"control", "PATH", "control socket (default: /run/lwipd/TAP.sock)", set_control},
    {"control-owner", "USER", "owner of the control socket file", set_control_owner},
    {"control-group", "GROUP", "group of the control socket; its members may use it",
     set_control_group},
    {"control-mode", "MODE", "control socket mode (0600; 0660 with --control-group)",
     set_control_mode},
    {"user", "USER", "drop to USER after opening the TAP and the control socket", set_user},
    {"group", "GROUP", "...and to GROUP (default: USER's primary group)", set_group},
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
    {"irq-target", "THREAD", "thread the IRQs interrupt (default tcpip)", set_irq_target},
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
_Static_assert(NOPTS <= ARGS_MAX_OPTS, "raise ARGS_MAX_OPTS");

/* Options that may be given more than once. */
static bool opt_repeatable(const struct opt_def *o)
{
    return o->set == set_fault;
}

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
    a->irq_target = "tcpip";
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
    a->control_mode = 0600;
}

/* Release the strings the config file left in A. A stays readable as far as
 * its numbers go; its string options may dangle. */
void args_free(struct args *a)
{
    while (a->owned) {
        struct args_str *n = a->owned->next;
        free(a->owned);
        a->owned = n;
    }
}

size_t args_option_count(void)
{
    return NOPTS;
}

const char *args_option_name(size_t i)
{
    return i < NOPTS ? opts[i].name : NULL;
}

/* The option's argument name, or NULL for a flag. */
const char *args_option_arg(size_t i)
{
    return i < NOPTS ? opts[i].arg : NULL;
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
    fprintf(out, "\nA --config file holds 'long-name = value' lines (flags: true or false);\n"
                 "the command line wins over it. See lwipd(8).\n");
    fprintf(out, "\nExit status:\n"
                 "  0   stopped by SIGTERM/SIGINT or the shutdown command\n"
                 "  64  usage error (EX_USAGE), or a bad config file\n"
                 "  69  TAP missing or control socket in use (EX_UNAVAILABLE)\n"
                 "  70  internal error: lwIP did not come up (EX_SOFTWARE)\n"
                 "  71  system error: threads, sockets (EX_OSERR)\n"
                 "  73  cannot create the capture, log or socket file (EX_CANTCREAT)\n"
                 "  74  the TAP went away and --exit-on-tap-loss is set (EX_IOERR)\n"
                 "  77  not permitted: the TAP, or --user/--group (EX_NOPERM)\n"
                 "  3   a fault was found: lwIP assert, ISR rule break, crash or wedged\n"
                 "      stack; the crash report's path is on stderr (--fatal-action abort:\n"
                 "      killed by SIGABRT instead)\n");
}

static const struct opt_def *opt_find(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    }
    return NULL;
}

static const char *keep_string(struct args *a, const char *v)
{
    size_t n = strlen(v) + 1;
    struct args_str *s = malloc(sizeof(*s) + n);

    if (!s)
        return NULL;
    memcpy(s->s, v, n);
    s->next = a->owned;
    a->owned = s;
    return s->s;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* Copy the setter's message without its "--name: " prefix (the caller names
 * the key and the line itself). */
static void strip_prefix(const struct opt_def *o, const char *why, char *err, size_t errlen)
{
    size_t n = strlen(o->name);

    if (strncmp(why, "--", 2) == 0 && strncmp(why + 2, o->name, n) == 0 &&
        strncmp(why + 2 + n, ": ", 2) == 0)
        why += n + 4;
    snprintf(err, errlen, "%s", why);
}

/* Apply KEY = VALUE from line LINE of the config file (daemon/config.c
 * calls this for every line). Unknown keys, bad values, a key given twice
 * and keys that make no sense in a file are refused: -EINVAL with ERR
 * naming the key and the line. A's strings from the file are copied and
 * owned by A (args_free()). */
int args_config_set(struct args *a, const char *key, const char *value, int line, char *err,
                    size_t errlen)
{
    const struct opt_def *o = opt_find(key);
    size_t i;
    char why[256];
    const char *v;

    if (!o) {
        snprintf(err, errlen, "line %d: unknown key '%s' (keys are lwipd's long option names)",
                 line, key);
        return -EINVAL;
    }
    i = (size_t)(o - opts);
    if (o->set == set_config || o->set == set_check_config) {
        snprintf(err, errlen, "line %d: key '%s' belongs on the command line", line, key);
        return -EINVAL;
    }
    if (a->src[i] > 0 && !opt_repeatable(o)) {
        snprintf(err, errlen, "line %d: key '%s' was already given on line %d", line, key,
                 a->src[i]);
        return -EINVAL;
    }
    if (!o->arg) {
        bool on;

        if (!parse_bool(value, &on)) {
            snprintf(err, errlen, "line %d: key '%s': '%.64s' is not true or false", line, key,
                     value);
            return -EINVAL;
        }
        if (!on)
            return 0; /* a flag left off: the default */
        v = "true";
    } else {
        v = keep_string(a, value);
        if (!v) {
            snprintf(err, errlen, "line %d: out of memory", line);
            return -ENOMEM;
        }
    }
    if (o->set(a, v, why, sizeof(why)) != 0) {
        char msg[256];

        strip_prefix(o, why, msg, sizeof(msg));
        snprintf(err, errlen, "line %d: key '%s': %s", line, key, msg);
        return -EINVAL;
    }
    a->src[i] = line;
    a->given[i] = v;
    return 0;
}

/* "--ip (command line)" or "'ip' (config line 3)", for conflict messages. */
static const char *where(const struct args *a, const char *name, char *buf, size_t len)
{
    const struct opt_def *o = opt_find(name);
    int src = o ? a->src[o - opts] : 0;

    if (src > 0)
        snprintf(buf, len, "key '%s' (%s line %d)", name, a->config, src);
    else
        snprintf(buf, len, "--%s", name);
    return buf;
}

/* The checks that involve several options, after both layers. */
static int check_conflicts(const struct args *a)
{
    char w1[160], w2[160];

    if (!a->tap) {
        fprintf(stderr, "lwipd: --tap NAME is required\nTry 'lwipd --help'.\n");
        return -1;
    }
    if (a->ip_set == a->dhcp) {
        if (a->ip_set)
            fprintf(stderr, "lwipd: %s conflicts with %s: give exactly one\n",
                    where(a, "ip", w1, sizeof(w1)), where(a, "dhcp", w2, sizeof(w2)));
        else
            fprintf(stderr, "lwipd: give exactly one of --ip ADDR/LEN and --dhcp\n");
        return -1;
    }
    if (a->gw && a->dhcp) {
        fprintf(stderr, "lwipd: %s conflicts with %s: the gateway comes from DHCP\n",
                where(a, "gw", w1, sizeof(w1)), where(a, "dhcp", w2, sizeof(w2)));
        return -1;
    }
    if (a->ready_fd >= 0 && a->check_config) {
        fprintf(stderr, "lwipd: %s conflicts with --check-config: nothing gets ready\n",
                where(a, "ready-fd", w1, sizeof(w1)));
        return -1;
    }
    return 0;
}

/* Print the effective configuration as a config file lwipd reads back:
 * every option that is set, with where it came from; the rest commented out
 * as defaults. */
void args_print_config(const struct args *a, FILE *out)
{
    fprintf(out, "# lwipd effective configuration%s%s\n", a->config ? " (config file " : "",
            a->config ? a->config : "");
    if (a->config)
        fprintf(out, "#   plus the command line, which wins)\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_def *o = &opts[i];
        char from[64];

        if (o->set == set_config || o->set == set_check_config)
            continue;
        if (!a->src[i]) {
            fprintf(out, "# %s = (default)\n", o->name);
            continue;
        }
        if (a->src[i] > 0)
            snprintf(from, sizeof(from), "config line %d", a->src[i]);
        else
            snprintf(from, sizeof(from), "command line");
        if (o->set == set_fault) {
            for (int k = 0; k < a->nfaults; k++)
                fprintf(out, "%s = %s\n", o->name, a->faults[k]);
            fprintf(out, "#   (%s)\n", from);
            continue;
        }
        fprintf(out, "%s = %s\n#   (%s)\n", o->name, o->arg ? a->given[i] : "true", from);
    }
}

/* Parse ARGV into A (which args_init() prepared): a --config file first,
 * then the command line on top. Errors are printed. */
enum args_result args_parse(struct args *a, int argc, char **argv)
{
    struct option lopts[NOPTS + 3];
    int *which = calloc((size_t)argc + 1, sizeof(*which));
    char **vals = calloc((size_t)argc + 1, sizeof(*vals));
    char err[512];
    int c, idx, n = 0;
    bool cli_fault = false;
    enum args_result res = ARGS_USAGE;

    if (!which || !vals) {
        fprintf(stderr, "lwipd: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < NOPTS; i++) {
        lopts[i].name = opts[i].name;
        lopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
        lopts[i].flag = NULL;
        lopts[i].val = 1000 + (int)i;
    }
    lopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[NOPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[NOPTS + 2] = (struct option){NULL, 0, NULL, 0};

    /* First pass: collect the command line, so that the file can go under it. */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", lopts, &idx)) != -1) {
        if (c == 'h') {
            args_usage(stdout);
            res = ARGS_EXIT;
            goto out;
        }
        if (c == 'V') {
            buildinfo_print(stdout);
            res = ARGS_EXIT;
            goto out;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "lwipd: %s option '%s'\nTry 'lwipd --help'.\n",
                    c == ':' ? "missing argument for" : "unknown", argv[optind - 1]);
            goto out;
        }
        which[n] = c - 1000;
        vals[n++] = optarg ? optarg : (char *)"";
        if (opts[c - 1000].set == set_config && set_config(a, optarg, err, sizeof(err)) != 0) {
            fprintf(stderr, "lwipd: %s\n", err);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lwipd: unexpected argument '%s'\nTry 'lwipd --help'.\n", argv[optind]);
        goto out;
    }
    if (a->config && config_load(a, a->config, err, sizeof(err)) != 0) {
        fprintf(stderr, "lwipd: %s\n", err);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        const struct opt_def *o = &opts[which[k]];

        if (o->set == set_fault && !cli_fault) {
            a->nfaults = 0; /* the command line's rules replace the file's */
            cli_fault = true;
        }
        if (o->set(a, vals[k], err, sizeof(err))) {
            fprintf(stderr, "lwipd: %s\n", err);
            goto out;
        }
        a->src[which[k]] = -1;
        a->given[which[k]] = o->arg ? vals[k] : "true";
    }
    if (check_conflicts(a) != 0)
        goto out;
    res = ARGS_OK;
out:
    free(which);
    free(vals);
    return res;
}
