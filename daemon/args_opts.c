/* SPDX-License-Identifier: MIT */
/* lwipd's options: one setter per option, each validating its value, and
 * the table (args_opts[]) that getopt_long, --help, the config file and
 * --check-config are all generated from (daemon/args.c). */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/args_priv.h"
#include "fault_inject/rule.h"
#include "base/log.h"

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

static int set_driver_priority(struct args *a, const char *v, char *err, size_t errlen)
{
    unsigned long x;

    if (parse_uint(v, 0, 99, &x))
        return ERR("--driver-priority: '%s' is not between 0 and 99", v);
    a->driver_priority = (int)x;
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

const struct opt_def args_opts[] = {
    {"config", "FILE", "read options from FILE: one 'long-name = value' a line", set_config,
     OPT_CLI_ONLY | OPT_CONFIG},
    {"check-config", NULL, "check the configuration, print the effective one and exit",
     set_check_config, OPT_CLI_ONLY},
    {"tap", "NAME", "TAP interface to attach to (required)", set_tap, 0},
    {"create-tap", NULL, "create the TAP if it does not exist (needs CAP_NET_ADMIN)",
     set_create_tap, 0},
    {"exit-on-tap-loss", NULL, "exit (code 74) when the TAP goes away instead of waiting for it",
     set_exit_on_tap_loss, 0},
    {"ip", "ADDR/LEN", "lwIP's IPv4 address, e.g. 198.18.0.2/24", set_ip, 0},
    {"gw", "ADDR", "default gateway", set_gw, 0},
    {"dhcp", NULL, "get the address by DHCP instead of --ip", set_dhcp, 0},
    {"mac", "MAC", "lwIP's MAC (default: stable 02:4c:77:.. from the TAP name)", set_mac, 0},
    {"mtu", "N", "lwIP's MTU (default: the TAP's)", set_mtu, 0},
    {"control", "PATH", "control socket (default: /run/lwipd/TAP.sock)", set_control, 0},
    {"control-owner", "USER", "owner of the control socket file", set_control_owner, 0},
    {"control-group", "GROUP", "group of the control socket; its members may use it",
     set_control_group, 0},
    {"control-mode", "MODE", "control socket mode (0600; 0660 with --control-group)",
     set_control_mode, 0},
    {"user", "USER", "drop to USER after opening the TAP and the control socket", set_user, 0},
    {"group", "GROUP", "...and to GROUP (default: USER's primary group)", set_group, 0},
    {"pcap", "FILE", "capture every frame crossing the TAP to FILE (pcap, ns)", set_pcap, 0},
    {"pcap-snaplen", "N", "keep at most N bytes of each captured frame (default: all)",
     set_pcap_snaplen, 0},
    {"pcap-filter", "BPF", "capture only frames matching this libpcap filter", set_pcap_filter, 0},
    {"pcap-rotate", "SIZE:N", "start a new file past SIZE (e.g. 100M), keep N files",
     set_pcap_rotate, 0},
    {"log-level", "LEVEL", "err, warn, info (default) or debug", set_log_level, 0},
    {"log-file", "FILE", "log to FILE instead of stderr", set_log_file, 0},
    {"ready-fd", "FD", "write one READY line to FD when up, then close it", set_ready_fd, 0},
    {"tx-mode", "MODE", "ring (EMAC-like, default) or sync (write in linkoutput)", set_tx_mode, 0},
    {"ring-size", "N", "TX descriptors in ring mode (default 256)", set_ring_size, 0},
    {"txc-coalesce", "N", "raise the TX-complete IRQ every N frames (default 16)", set_txc_coalesce,
     0},
    {"txc-coalesce-us", "T", "...or T us after the first unsignalled completion (0: off)",
     set_txc_coalesce_us, 0},
    {"txc-delay-us", "T", "TX completion takes T us after the write (wire time)", set_txc_delay_us,
     0},
    {"txc-jitter-us", "T", "plus up to T us of random jitter", set_txc_jitter_us, 0},
    {"txc-free", "HOW", "TX-complete ISR frees by: task (default), callback, isr", set_txc_free, 0},
    {"irq-policy", "P", "ISR rule breaks: detect (default), rtos, posix", set_irq_policy, 0},
    {"irq-target", "THREAD",
     "thread the IRQs interrupt: stack (default: whoever runs lwIP), tcpip or another lwIP thread",
     set_irq_target, 0},
    {"single-core", NULL, "pin every lwipd thread to one CPU, as on the MCU", set_single_core, 0},
    {"driver-priority", "N",
     "real-time priority of the driver's DMA thread (the EMAC; default 10, 0: none)",
     set_driver_priority, 0},
    {"watchdog-ms", "MS", "report a tcpip thread stalled for MS (default 5000, 0: off)",
     set_watchdog_ms, 0},
    {"fatal-action", "A", "after a crash report: exit (code 3, default), abort, hold",
     set_fatal_action, 0},
    {"report-dir", "DIR",
     "crash reports go here (default: $LOGS_DIRECTORY, the capture's "
     "directory, or /tmp)",
     set_report_dir, 0},
    {"events", "FILE", "events log: link edges, faults, violations (JSON lines)", set_events, 0},
    {"seed", "N", "seed of every fault decision (default: random, logged)", set_seed, 0},
    {"link-flap", "SCHEDULE",
     "P[:D[:N[:J]]] (out every P ms for D ms, N times, +-J ms) or random:UMIN-UMAX:DMIN-DMAX[:N]",
     set_link_flap, 0},
    {"fault", "RULE", "a fault rule, e.g. 'tx drop 30% \"arp\"' (repeatable; see README)",
     set_fault, OPT_REPEAT},
    {"fault-file", "FILE", "fault rules, one per line (re-read on SIGHUP)", set_fault_file, 0},
    {"no-echo", NULL, "do not start echo/discard/chargen (7, 9, 19)", set_no_echo, 0},
    {"no-lwiperf", NULL, "do not start lwiperf (iperf2, TCP 5001)", set_no_lwiperf, 0},
    {"churn", NULL, "start the socket churn server (sockets API, seed 003)", set_churn, 0},
    {"churn-port", "PORT", "churn server's TCP port (default 7777)", set_churn_port, 0},
    {"churn-close", "SPEC",
     "closer schedule: idle=MS,requests=N,random=PERMILLE,peer=0|1 (idle=200,peer=1)",
     set_churn_close, 0},
    {"churn-select-ms", "MS", "the churn selector's lwip_select() timeout (default 5)",
     set_churn_select_ms, 0},
    {"churn-serialize", NULL, "seed 003's workaround: select and close never overlap",
     set_churn_serialize, 0},
    {"test-hooks", NULL, "enable test-only commands that damage the stack on purpose",
     set_test_hooks, 0},
    {"no-iperf3", NULL, "do not start the iperf3 server", set_no_iperf3, 0},
    {"iperf3-port", "N", "iperf3 server's TCP and UDP port (default 5201)", set_iperf3_port, 0},
};

#define NOPTS (sizeof(args_opts) / sizeof(args_opts[0]))
_Static_assert(NOPTS <= ARGS_MAX_OPTS, "raise ARGS_MAX_OPTS");
const size_t args_nopts = NOPTS;
