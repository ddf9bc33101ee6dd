/* SPDX-License-Identifier: MIT */
/* lwipd's options: the table (args_opts[]) that getopt_long, --help, the
 * config file, args_init()'s defaults and --check-config are all generated
 * from (daemon/args.c). Each row says how its value is parsed and where it
 * is stored: an integer in a range, a flag, a string, one of a list of
 * names, or (where the syntax is special) a setter of its own. */
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

#include "base/names.h"
#include "daemon/args_priv.h"
#include "fault_inject/rule.h"
#include "base/log.h"

/* Parse a decimal in [MIN, MAX] into OUT. 0 or -EINVAL. */
int args_parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
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

static int set_ip(struct args *a, const char *v, char *err, size_t errlen)
{
    char buf[64];
    char *slash;
    unsigned long len;

    snprintf(buf, sizeof(buf), "%s", v);
    slash = strchr(buf, '/');
    if (!slash) /* no guessed netmask: a wrong one misroutes silently */
        return ERR("--ip: '%s' has no /LEN prefix length (e.g. %s/24)", v, v);
    *slash = '\0';
    if (args_parse_uint(slash + 1, 1, 32, &len))
        return ERR("--ip: bad prefix length in '%s' (1-32)", v);
    if (args_parse_ipv4(buf, &a->ip) || a->ip == 0)
        return ERR("--ip: '%s' is not ADDR/LEN (e.g. 198.18.0.2/24)", v);
    a->mask = htonl(len == 32 ? 0xffffffffu : ~(0xffffffffu >> len));
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
    return 0;
}

static int set_log_level(struct args *a, const char *v, char *err, size_t errlen)
{
    if (log_level_parse(v, &a->log_level))
        return ERR("--log-level: '%s' is not err, warn, info or debug", v);
    return 0;
}

static int set_seed(struct args *a, const char *v, char *err, size_t errlen)
{
    char *end;

    errno = 0;
    a->seed = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-')
        return ERR("--seed: '%s' is not a number", v);
    return 0;
}

static int set_link_flap(struct args *a, const char *v, char *err, size_t errlen)
{
    char why[160];

    if (link_flap_parse(v, &a->link_flap, why, sizeof(why)))
        return ERR("--link-flap: %s", why);
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

/* An app module, PATH[:ARGS], loaded and checked at start (daemon/app.c). */
static int set_app(struct args *a, const char *v, char *err, size_t errlen)
{
    if (a->napps == ARGS_MAX_APPS)
        return ERR("--app: at most %d apps", ARGS_MAX_APPS);
    if (!*v || *v == ':')
        return ERR("--app: '%s' is not PATH.so[:ARGS]", v);
    a->apps[a->napps++] = v;
    return 0;
}

/* A comma list of groups to join once up (daemon/stack.c); replaces an earlier list. */
static int set_igmp_join(struct args *a, const char *v, char *err, size_t errlen)
{
    uint32_t g[ARGS_MAX_IGMP_JOIN];
    char buf[256], *save = NULL;
    unsigned n = 0;

    snprintf(buf, sizeof(buf), "%s", v);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == ARGS_MAX_IGMP_JOIN)
            return ERR("--igmp-join: at most %d groups", ARGS_MAX_IGMP_JOIN);
        if (args_parse_ipv4(tok, &g[n]) || !IN_MULTICAST(ntohl(g[n])) ||
            ntohl(g[n]) == INADDR_ALLHOSTS_GROUP)
            return ERR("--igmp-join: '%s' is not a group lwIP can join", tok);
        n++;
    }
    if (n == 0 || strlen(v) >= sizeof(buf))
        return ERR("--igmp-join: '%s' is not a comma list of groups", v);
    memcpy(a->igmp_join, g, n * sizeof(g[0]));
    a->nigmp_join = n;
    return 0;
}

static int set_sntp(struct args *a, const char *v, char *err, size_t errlen)
{
    if (args_parse_ipv4(v, &a->lwip_apps.sntp_server) || a->lwip_apps.sntp_server == 0)
        return ERR("--sntp: '%s' is not an IPv4 address", v);
    return 0;
}

static int set_mdns(struct args *a, const char *v, char *err, size_t errlen)
{
    if (lwip_apps_parse_mdns_name(v, err, errlen))
        return -EINVAL;
    a->lwip_apps.mdns_name = v;
    return 0;
}

static int set_mqtt_pub(struct args *a, const char *v, char *err, size_t errlen)
{
    return lwip_apps_parse_mqtt(v, &a->lwip_apps.mqtt, err, errlen);
}

static int set_driver_bug(struct args *a, const char *v, char *err, size_t errlen)
{
    if (driver_bug_parse(v, &a->driver_bugs))
        return ERR("--driver-bug: '%s' is not none or a comma list of tx-free-segments, "
                   "link-from-isr, rx-no-refill, free-callback-drop",
                   v);
    return 0;
}

/* SIZE:COUNT of the option OPT (--pcap-rotate, --events-rotate) into
 * *BYTES and *COUNT. 0 or -EINVAL with ERR set. */
static int parse_rotate(const char *opt, const char *v, uint64_t *bytes, unsigned *count_out,
                        char *err, size_t errlen)
{
    char *end;
    double size;
    unsigned long count;

    errno = 0;
    size = strtod(v, &end);
    if (errno || end == v || size <= 0)
        return ERR("--%s: '%s' is not SIZE:COUNT (e.g. 100M:5)", opt, v);
    if (*end == 'k' || *end == 'K')
        size *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        size *= 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        size *= 1e9, end++;
    /* NaN and sizes past any disk fail here, before the cast (found by tests/fuzz/fuzz_config) */
    if (*end != ':' || args_parse_uint(end + 1, 1, 1000, &count) || !(size >= 1024 && size <= 1e15))
        return ERR("--%s: '%s' is not SIZE:COUNT (size 1K-1000T, count 1-1000)", opt, v);
    *bytes = (uint64_t)size;
    *count_out = (unsigned)count;
    return 0;
}

static int set_pcap_rotate(struct args *a, const char *v, char *err, size_t errlen)
{
    return parse_rotate("pcap-rotate", v, &a->pcap_rotate_bytes, &a->pcap_rotate_count, err,
                        errlen);
}

static int set_events_rotate(struct args *a, const char *v, char *err, size_t errlen)
{
    return parse_rotate("events-rotate", v, &a->events_rotate_bytes, &a->events_rotate_count, err,
                        errlen);
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
        if (args_parse_uint(eq + 1, 0, max[k], &x))
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
    return 0;
}

/* A user by name or number: its uid and primary group. 0 or -ENOENT. */
static int lookup_user(const char *v, uid_t *uid, gid_t *gid)
{
    const struct passwd *pw = getpwnam(v);
    unsigned long x;

    if (!pw && args_parse_uint(v, 0, 0x7fffffff, &x) == 0)
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
    if (args_parse_uint(v, 0, 0x7fffffff, &x) == 0) {
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
    return 0;
}

/* ---- the table ------------------------------------------------------- */

/* The enum options' names come from the modules that own the enums. */

#define FIELD(f)        offsetof(struct args, f)
#define FSIZE(f)        sizeof(((struct args *)0)->f)
#define INT(f, lo, hi)  .type = OPT_INT, .field = FIELD(f), .size = FSIZE(f), .min = lo, .max = hi
#define FLAG(f, v)      .type = OPT_FLAG, .field = FIELD(f), .flag_value = v
#define STRING(f, n, w) .type = OPT_STRING, .field = FIELD(f), .max = n, .what = w
#define ENUM(f, t)                                                                                 \
    .type = OPT_ENUM, .field = FIELD(f), .size = FSIZE(f), .names = t, .nnames = NAMES_COUNT(t)
#define CUSTOM(fn) .type = OPT_CUSTOM, .set = fn

_Static_assert(FIELD(tap) == 0, "opt_def.marks uses offset 0 as none");

const struct opt_def args_opts[] = {
    {"config", "FILE", "read options from FILE: one 'long-name = value' a line",
     STRING(config, 0, "path"), .flags = OPT_CLI_ONLY | OPT_CONFIG},
    {"check-config", NULL, "check the configuration, print the effective one and exit",
     FLAG(check_config, true), .flags = OPT_CLI_ONLY},
    {"tap", "NAME", "TAP interface to attach to (required)", CUSTOM(set_tap)},
    {"create-tap", NULL, "create the TAP if it does not exist (needs CAP_NET_ADMIN)",
     FLAG(create_tap, true)},
    {"exit-on-tap-loss", NULL, "exit (code 74) when the TAP goes away instead of waiting for it",
     FLAG(exit_on_tap_loss, true)},
    {"ip", "ADDR/LEN", "lwIP's IPv4 address, e.g. 198.18.0.2/24", CUSTOM(set_ip),
     .marks = FIELD(ip_set)},
    {"gw", "ADDR", "default gateway", CUSTOM(set_gw)},
    {"dhcp", NULL, "get the address by DHCP instead of --ip", FLAG(dhcp, true)},
    {"mac", "MAC", "lwIP's MAC", CUSTOM(set_mac), .def_doc = "stable 02:4c:77:.. from the TAP name",
     .marks = FIELD(mac_set)},
    {"mtu", "N", "lwIP's MTU", INT(mtu, 576, 9000), .def_doc = "the TAP's"},
    {"control", "PATH", "control socket", STRING(control, 107, "path"),
     .def_doc = "/run/lwipd/TAP.sock"},
    {"control-owner", "USER", "owner of the control socket file", CUSTOM(set_control_owner)},
    {"control-group", "GROUP", "group of the control socket; its members may use it",
     CUSTOM(set_control_group)},
    {"control-mode", "MODE", "control socket mode", CUSTOM(set_control_mode), .def = "0600",
     .def_doc = "0600; 0660 with --control-group", .marks = FIELD(control_mode_set)},
    {"control-idle-s", "S",
     "close control clients silent (and owed no answer) or not reading for S seconds",
     INT(control_idle_s, 1, 86400), .def = "60"},
    {"control-allow-group-writes", NULL,
     "let --control-group members name capture files (else only root and lwipd's user may)",
     FLAG(control_group_writes, true)},
    {"user", "USER", "drop to USER after opening the TAP and the control socket", CUSTOM(set_user)},
    {"group", "GROUP", "...and to GROUP", CUSTOM(set_group), .def_doc = "USER's primary group"},
    {"pcap", "FILE", "capture every frame crossing the TAP to FILE (pcap, ns)",
     STRING(pcap, 0, "path")},
    {"capture-dir", "DIR", "where `capture start NAME` from the control socket writes",
     STRING(capture_dir, 400, "path"), .def_doc = "the directory of --pcap, else none"},
    {"pcap-snaplen", "N", "keep at most N bytes of each captured frame",
     INT(pcap_snaplen, 14, 262144), .def_doc = "all"},
    {"pcap-filter", "BPF", "capture only frames matching this libpcap filter",
     STRING(pcap_filter, 0, "filter")},
    {"pcap-rotate", "SIZE:N", "start a new file past SIZE (e.g. 100M), keep N files",
     CUSTOM(set_pcap_rotate)},
    {"pcap-format", "FMT", "capture file format: pcapng (events as frame comments) or pcap",
     ENUM(pcap_format, capture_format_names), .def = "pcap"},
    {"log-level", "LEVEL", "err, warn, info or debug", CUSTOM(set_log_level), .def = "info"},
    {"log-file", "FILE", "log to FILE instead of stderr", STRING(log_file, 0, "path")},
    {"ready-fd", "FD", "write one READY line to FD when up, then close it",
     INT(ready_fd, 3, INT_MAX), .what = "a file descriptor >= 3"},
    {"tx-mode", "MODE", "ring (EMAC-like) or sync (write in linkoutput)",
     ENUM(tx_mode, tx_mode_names), .def = "ring"},
    {"ring-size", "N", "TX descriptors in ring mode", INT(ring_size, 2, 65536), .def = "256"},
    {"txc-coalesce", "N", "raise the TX-complete IRQ every N frames", INT(txc_coalesce, 1, 65536),
     .def = "16"},
    {"txc-coalesce-us", "T", "...or T us after the first unsignalled completion (0: off)",
     INT(txc_coalesce_us, 0, 1000000), .what = "0-1000000", .def = "0"},
    {"txc-delay-us", "T", "TX completion takes T us after the write (wire time)",
     INT(txc_delay_us, 0, 1000000), .what = "0-1000000", .def = "0"},
    {"txc-jitter-us", "T", "plus up to T us of random jitter", INT(txc_jitter_us, 0, 1000000),
     .what = "0-1000000", .def = "0"},
    {"txc-free", "HOW", "the TX-complete ISR frees by: task, callback, isr",
     ENUM(txc_free, txc_free_names), .def = "task"},
    {"driver-bug", "MODE[,MODE...]",
     "break the driver contract on purpose: tx-free-segments, link-from-isr, rx-no-refill, "
     "free-callback-drop (see lwipd(8))",
     CUSTOM(set_driver_bug), .def = "none"},
    {"irq-policy", "P", "ISR rule breaks: detect, rtos, posix", ENUM(irq_policy, irq_policy_names),
     .def = "detect"},
    {"irq-target", "THREAD",
     "thread the IRQs interrupt: stack (whoever runs lwIP), tcpip or another lwIP thread",
     STRING(irq_target, 31, "thread name"), .def = "stack"},
    {"single-core", NULL, "pin every lwipd thread to one CPU, as on the MCU",
     FLAG(single_core, true)},
    {"driver-priority", "N", "real-time priority of the driver's DMA thread (the EMAC; 0: none)",
     INT(driver_priority, 0, 99), .def = "10"},
    {"watchdog-ms", "MS", "report a tcpip thread stalled for MS (0: off)",
     INT(watchdog_ms, 500, 3600000), .flags = OPT_ZERO_OFF, .what = "0 (off) or 500-3600000",
     .def = "5000"},
    {"fatal-action", "A", "after a crash report: exit (code 3), abort, hold",
     ENUM(fatal_action, fatal_action_names), .def = "exit"},
    {"report-dir", "DIR", "crash reports go here", STRING(report_dir, 400, "path"),
     .def_doc = "$LOGS_DIRECTORY, the capture's directory, or /tmp"},
    {"events", "FILE", "events log: link edges, faults, violations (JSON lines)",
     STRING(events, 0, "path")},
    {"events-rotate", "SIZE:N", "start a new events file past SIZE (e.g. 10M), keep N files",
     CUSTOM(set_events_rotate)},
    {"stats-log", "FILE", "write a stats record every --stats-interval (JSON lines)",
     STRING(stats_log, 0, "path")},
    {"stats-interval", "MS", "period of the --stats-log records",
     INT(stats_interval_ms, 10, 3600000), .def = "1000"},
    {"seed", "N", "seed of every fault decision", CUSTOM(set_seed), .def_doc = "random, logged",
     .marks = FIELD(seed_set)},
    {"link-flap", "SCHEDULE",
     "P[:D[:N[:J]]] (out every P ms for D ms, N times, +-J ms) or random:UMIN-UMAX:DMIN-DMAX[:N]",
     CUSTOM(set_link_flap), .marks = FIELD(link_flap_set)},
    {"fault", "RULE", "a fault rule, e.g. 'tx drop 30% \"arp\"' (repeatable; see lwipd(8))",
     CUSTOM(set_fault), .flags = OPT_REPEAT, .list = FIELD(faults), .count = FIELD(nfaults)},
    {"fault-file", "FILE", "fault rules, one per line (re-read on SIGHUP)",
     STRING(fault_file, 0, "path")},
    {"no-echo", NULL, "do not start echo/discard/chargen (7, 9, 19)", FLAG(echo, false)},
    {"echo-idle-s", "S", "abort echo/discard/chargen connections idle for S seconds (0: never)",
     INT(echo_idle_s, 1, 86400), .flags = OPT_ZERO_OFF, .what = "0 (never) or 1-86400",
     .def = "600"},
    {"no-lwiperf", NULL, "do not start lwiperf (iperf2, TCP 5001)", FLAG(lwiperf, false)},
    {"churn", NULL, "start the socket churn server (sockets API, select/close socket leak)",
     FLAG(churn, true)},
    {"churn-port", "PORT", "churn server's TCP port", INT(churn_cfg.port, 1, 65535),
     .what = "a TCP port (1-65535)", .def = "7777", .marks = FIELD(churn)},
    {"churn-close", "SPEC", "closer schedule: idle=MS,requests=N,random=PERMILLE,peer=0|1",
     CUSTOM(set_churn_close), .def = "idle=200,peer=1", .marks = FIELD(churn)},
    {"churn-select-ms", "MS", "the churn selector's lwip_select() timeout",
     INT(churn_cfg.select_ms, 1, 10000), .def = "5", .marks = FIELD(churn)},
    {"churn-serialize", NULL,
     "work around the select/close socket leak: select and close never overlap",
     FLAG(churn_cfg.serialize, true), .marks = FIELD(churn)},
    {"test-hooks", NULL, "enable test-only commands that damage the stack on purpose",
     FLAG(test_hooks, true)},
    {"igmp-join", "GROUPS", "lwIP joins these multicast groups once up (comma list, at most 8)",
     CUSTOM(set_igmp_join)},
    {"httpd", NULL, "serve lwIP's httpd on TCP 80 (needs -Dlwip_apps=httpd)",
     FLAG(lwip_apps.httpd, true)},
    {"sntp", "SERVER", "lwIP's SNTP client asks SERVER for the time (needs -Dlwip_apps=sntp)",
     CUSTOM(set_sntp)},
    {"mdns", "NAME", "lwIP's mDNS responder answers for NAME.local (needs -Dlwip_apps=mdns)",
     CUSTOM(set_mdns)},
    {"tftp-server", "DIR",
     "lwIP's TFTP server reads and writes files in DIR (needs -Dlwip_apps=tftp)",
     STRING(lwip_apps.tftp_dir, 0, "directory")},
    {"mqtt-pub", "BROKER:TOPIC:MS",
     "publish a counter (QoS 1) with lwIP's MQTT client every MS ms; BROKER is IP[:PORT] "
     "(needs -Dlwip_apps=mqtt)",
     CUSTOM(set_mqtt_pub)},
    {"app", "PATH[:ARGS]",
     "load your app (a .so built with lwipd-app.pc; repeatable; lwipd-app(3))", CUSTOM(set_app),
     .flags = OPT_REPEAT, .list = FIELD(apps), .count = FIELD(napps)},
    {"app-required", NULL, "exit (code 70) when an --app's start() fails, instead of going on",
     FLAG(app_required, true)},
    {"no-iperf3", NULL, "do not start the iperf3 server", FLAG(iperf3, false)},
    {"iperf3-port", "N", "iperf3 server's TCP and UDP port", INT(iperf3_port, 1, 65535),
     .what = "a port (1-65535)", .def = "5201"},
};

#define NOPTS (sizeof(args_opts) / sizeof(args_opts[0]))
_Static_assert(NOPTS <= ARGS_MAX_OPTS, "raise ARGS_MAX_OPTS");
const size_t args_opts_n = NOPTS;
