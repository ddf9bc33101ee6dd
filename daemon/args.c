/* SPDX-License-Identifier: MIT */
/* lwipd command line. One table holds every option (daemon/args_opts.c):
 * getopt_long's array, the defaults, --help, the config file's keys and
 * --check-config's output are all generated from it, so they cannot drift
 * apart. Options are
 * applied in two layers: the config file first, then the command line on
 * top of it. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/args.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/args_priv.h"
#include "daemon/buildinfo.h"
#include "daemon/config.h"
#include "base/log.h"

#define opts  args_opts
#define NOPTS args_opts_n

/* A string copied from the config file, alive as long as the args. */
struct args_str {
    struct args_str *next;
    char s[];
};

/* Options that may be given more than once. */
static bool opt_repeatable(const struct opt_def *o)
{
    return o->flags & OPT_REPEAT;
}

/* A repeatable option's values in A, and their count in *N. */
static const char *const *opt_values(const struct args *a, const struct opt_def *o, int *n)
{
    *n = *(const int *)((const char *)a + o->count);
    return (const char *const *)((const char *)a + o->list);
}

/* Fill A with the defaults: each option's from its row of the table, plus
 * the two fields no option starts from. */
void args_init(struct args *a)
{
    memset(a, 0, sizeof(*a));
    a->ready_fd = -1;           /* no --ready-fd */
    a->churn_cfg.closer_ms = 2; /* the churn closer's pass period: not an option */
    args_opts_init(a);
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
        fprintf(out, "  %-26s %s", left, opts[i].help);
        if (opts[i].type != OPT_FLAG && (opts[i].def || opts[i].def_doc)) {
            const char *def = args_opts_default(&opts[i]);

            /* past 79 columns, the default goes on a line of its own */
            if (29 + strlen(opts[i].help) + 12 + strlen(def) > 79)
                fprintf(out, "\n  %-26s", "");
            fprintf(out, " (default: %s)", def);
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n  %-26s %s\n", "-h, --help", "show this help and exit",
            "-V, --version", "show versions and lwIP build options, then exit");
    fprintf(out, "\nA --config file holds 'long-name = value' lines (flags: true or false);\n"
                 "the command line wins over it. See lwipd(8).\n");
    fprintf(out, "\nExit status:\n"
                 "  0   stopped by SIGTERM/SIGINT or the shutdown command\n"
                 "  64  usage error (EX_USAGE), a bad config file, or an --app refused\n"
                 "  69  TAP missing or control socket in use (EX_UNAVAILABLE)\n"
                 "  70  internal error: lwIP did not come up, or an --app's start()\n"
                 "      failed under --app-required (EX_SOFTWARE)\n"
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

/* Apply KEY = VALUE from line LINE of the config file to the struct args
 * ARG (a config_set_cb: daemon/config.c calls it for every line). Unknown keys, bad values, a key
 * given twice and keys that make no sense in a file are refused: -EINVAL with ERR naming the key
 * and the line. A's strings from the file are copied and owned by A (args_free()). */
int args_config_set(void *arg, const char *key, const char *value, int line, char *err,
                    size_t errlen)
{
    struct args *a = arg;
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
    if (o->flags & OPT_CLI_ONLY) {
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
    if (args_opts_set(a, o, v, why, sizeof(why)) != 0) {
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

/* The checks that involve several options, after both layers. 0, or
 * -EINVAL after printing why. */
static int check_conflicts(const struct args *a)
{
    char w1[160], w2[160];

    if (!a->tap) {
        fprintf(stderr, "lwipd: --tap NAME is required\nTry 'lwipd --help'.\n");
        return -EINVAL;
    }
    if (a->ip_set == a->dhcp) {
        if (a->ip_set)
            fprintf(stderr, "lwipd: %s conflicts with %s: give exactly one\n",
                    where(a, "ip", w1, sizeof(w1)), where(a, "dhcp", w2, sizeof(w2)));
        else
            fprintf(stderr, "lwipd: give exactly one of --ip ADDR/LEN and --dhcp\n");
        return -EINVAL;
    }
    if (a->gw && a->dhcp) {
        fprintf(stderr, "lwipd: %s conflicts with %s: the gateway comes from DHCP\n",
                where(a, "gw", w1, sizeof(w1)), where(a, "dhcp", w2, sizeof(w2)));
        return -EINVAL;
    }
    if (lwip_apps_check_built(&a->lwip_apps, w1, sizeof(w1)) != 0) {
        fprintf(stderr, "lwipd: %s\n", w1);
        return -EINVAL;
    }
    if (a->ready_fd >= 0 && a->check_config) {
        fprintf(stderr, "lwipd: %s conflicts with --check-config: nothing gets ready\n",
                where(a, "ready-fd", w1, sizeof(w1)));
        return -EINVAL;
    }
    return 0;
}

/* Print the effective configuration as a config file lwipd reads back:
 * every option that is set, with where it came from; the rest commented out
 * with the value in effect (the row's default, or what another option
 * implied). */
void args_print_config(const struct args *a, FILE *out)
{
    fprintf(out, "# lwipd effective configuration%s%s\n", a->config ? " (config file " : "",
            a->config ? a->config : "");
    if (a->config)
        fprintf(out, "#   plus the command line, which wins)\n");
    fprintf(out, "# Options not given are commented out, with the value in effect.\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_def *o = &opts[i];
        char from[64], val[160];

        if (o->flags & OPT_CLI_ONLY)
            continue;
        if (!a->src[i]) {
            fprintf(out, "# %s = %s\n", o->name, args_opts_value(a, o, val, sizeof(val)));
            continue;
        }
        if (a->src[i] > 0)
            snprintf(from, sizeof(from), "config line %d", a->src[i]);
        else
            snprintf(from, sizeof(from), "command line");
        if (opt_repeatable(o)) { /* --fault, --app: one line per value */
            int nv;
            const char *const *v = opt_values(a, o, &nv);

            for (int k = 0; k < nv; k++)
                fprintf(out, "%s = %s\n", o->name, v[k]);
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
    bool cli_set[ARGS_MAX_OPTS] = {false};
    enum args_result res = ARGS_USAGE;

    a->argc = argc;
    a->argv = argv;
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
        if ((opts[c - 1000].flags & OPT_CONFIG) &&
            args_opts_set(a, &opts[c - 1000], optarg, err, sizeof(err))) {
            fprintf(stderr, "lwipd: %s\n", err);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lwipd: unexpected argument '%s'\nTry 'lwipd --help'.\n", argv[optind]);
        goto out;
    }
    if (a->config && config_load(a->config, args_config_set, a, err, sizeof(err)) != 0) {
        fprintf(stderr, "lwipd: %s\n", err);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        const struct opt_def *o = &opts[which[k]];

        if (opt_repeatable(o) && !cli_set[which[k]]) {
            /* the command line's values replace the file's */
            *(int *)((char *)a + o->count) = 0;
            cli_set[which[k]] = true;
        }
        if (args_opts_set(a, o, vals[k], err, sizeof(err))) {
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
