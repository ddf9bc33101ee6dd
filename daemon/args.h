/* SPDX-License-Identifier: MIT */
/* lwipd command line: defaults, getopt_long over one option table, --help
 * generated from that table, a config file (daemon/config.c) whose keys are
 * the same table's long names. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fault_inject/link.h"
#include "apps/churn.h"
#include "apps/lwip_apps/lwip_apps.h"
#include "netif_tap/netif_tap.h"
#include "capture/capture.h"
#include "crash/fatal.h"
#include "mcu/irq.h"

/* Exit codes (sysexits.h), documented in --help and lwipd(8). */
#define LWIPD_EXIT_OK          0
#define LWIPD_EXIT_USAGE       64 /* EX_USAGE: bad command line */
#define LWIPD_EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE: TAP missing, control socket in use */
#define LWIPD_EXIT_SOFTWARE    70 /* EX_SOFTWARE: internal error (lwIP would not start) */
#define LWIPD_EXIT_APP_START   70 /* EX_SOFTWARE: an --app's start() failed (--app-required) */
#define LWIPD_EXIT_OSERR       71 /* EX_OSERR: a system call failed (threads, sockets) */
#define LWIPD_EXIT_CANTCREAT   73 /* EX_CANTCREAT: capture, log or socket file */
#define LWIPD_EXIT_IOERR       74 /* EX_IOERR: the TAP went away (--exit-on-tap-loss) */
#define LWIPD_EXIT_NOPERM      77 /* EX_NOPERM: not allowed to open/create the TAP */
#define LWIPD_EXIT_FAULT       FATAL_EXIT_CODE /* 3: a fault was found and reported */

#define ARGS_MAX_OPTS      88
#define ARGS_MAX_IGMP_JOIN 8  /* groups --igmp-join may name */
#define ARGS_MAX_APPS      16 /* --app modules */

struct args_str;

struct args {
    const char *tap;
    bool create_tap;
    uint32_t ip;   /* network byte order */
    uint32_t mask; /* network byte order */
    uint32_t gw;   /* network byte order, 0: none */
    bool ip_set;
    bool dhcp;
    uint8_t mac[6];
    bool mac_set;
    int mtu;
    const char *control;
    unsigned control_idle_s;
    const char *pcap;
    unsigned pcap_snaplen;
    int log_level;
    const char *log_file;
    int ready_fd;
    enum tx_mode tx_mode;
    unsigned ring_size;
    unsigned txc_coalesce;
    enum txc_free txc_free;
    unsigned driver_bugs; /* enum driver_bug bits, --driver-bug */
    enum irq_policy irq_policy;
    const char *irq_target;
    const char *report_dir;
    enum fatal_action fatal_action;
    unsigned watchdog_ms;
    unsigned txc_delay_us;
    unsigned txc_jitter_us;
    unsigned txc_coalesce_us;
    bool single_core;
    int driver_priority; /* SCHED_FIFO priority of tap-dma; 0: none */
    const char *events;
    uint64_t events_rotate_bytes; /* 0: never */
    unsigned events_rotate_count;
    uint64_t seed;
    bool seed_set;
    struct link_flap link_flap;
    bool link_flap_set;
    const char *faults[64];
    int nfaults;
    const char *fault_file;
    const char *apps[ARGS_MAX_APPS]; /* --app PATH[:ARGS] */
    int napps;
    bool app_required;
    const char *pcap_filter;
    uint64_t pcap_rotate_bytes;
    unsigned pcap_rotate_count;
    enum capture_format pcap_format;
    const char *capture_dir;    /* control clients' capture files; NULL: --pcap's */
    unsigned stats_interval_ms; /* period of the --stats-log records */
    const char *stats_log;
    bool echo;
    unsigned echo_idle_s;
    bool lwiperf;
    bool churn;
    struct churn_config churn_cfg;
    bool test_hooks;
    bool iperf3;
    uint16_t iperf3_port;
    uint32_t igmp_join[ARGS_MAX_IGMP_JOIN]; /* network byte order, --igmp-join */
    unsigned nigmp_join;
    struct lwip_apps_config lwip_apps; /* --httpd, --sntp, --mdns, --tftp-server, --mqtt-pub */
    /* config file, privileges, control socket access */
    const char *config;
    bool check_config;
    const char *user; /* as given; uid/gid resolved */
    uid_t uid;
    gid_t user_gid; /* the user's primary group */
    const char *group;
    gid_t gid;
    const char *control_owner;
    uid_t control_uid;
    const char *control_group;
    gid_t control_gid;
    mode_t control_mode;
    bool control_mode_set;
    bool control_group_writes; /* group members may name capture files */
    bool exit_on_tap_loss;
    /* Where each option's value came from: 0 unset, -1 the command line,
     * N > 0 line N of the config file; and the text given. */
    int src[ARGS_MAX_OPTS];
    const char *given[ARGS_MAX_OPTS];
    struct args_str *owned; /* strings copied from the config file */
    int argc;               /* the command line as main() got it (a crash */
    char **argv;            /* report's replay line), set by args_parse() */
};

enum args_result {
    ARGS_OK,    /* run */
    ARGS_EXIT,  /* --help or --version printed: exit 0 */
    ARGS_USAGE, /* error printed: exit LWIPD_EXIT_USAGE */
};

void args_init(struct args *a);
void args_free(struct args *a);
enum args_result args_parse(struct args *a, int argc, char **argv);
void args_usage(FILE *out);
int args_config_set(void *arg, const char *key, const char *value, int line, char *err,
                    size_t errlen);
void args_print_config(const struct args *a, FILE *out);
size_t args_option_count(void);
const char *args_option_name(size_t i);
const char *args_option_arg(size_t i);
int args_parse_ipv4(const char *s, uint32_t *addr);
int args_parse_mac(const char *s, uint8_t mac[6]);
