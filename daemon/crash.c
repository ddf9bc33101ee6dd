/* SPDX-License-Identifier: MIT */
/* The daemon's part of crash reports (crash/crash_report.c writes them):
 * the seed, the command line that replays the run, the configuration, the build, lwIP's and the
 * daemon's statistics, and the capture, flushed beside the report.
 *
 * The capture beside the report ("capture_flush" in it says which case):
 * - "flushed": the file holds every frame the writer took before the
 *   reporter's flush, which comes after every registered thread is frozen
 *   (none is frozen inside the writer: capture_set_guard() below), so the
 *   last frames are those of the moment of the incident. Frames a thread
 *   that is not frozen writes later (the control thread under
 *   --fatal-action hold) are not flushed.
 * - "skipped": the writer lock was held by the thread that hit the incident,
 *   by a thread frozen inside an ISR that had interrupted the writer, or for
 *   longer than CRASH_CAPTURE_WAIT_MS; the report names the holder. The
 *   file then ends at a record boundary with the frames of the last
 *   periodic flush (every 100 ms while the main loop ran).
 * - "not capturing": no capture file was open. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/crash.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "daemon/buildinfo.h"
#include "daemon/daemon_priv.h"
#include "daemon/stats.h"
#include "netif_tap/netif_tap.h"
#include "mcu/irq.h"

#define CRASH_CAPTURE_WAIT_MS 500 /* for a thread not frozen to leave the writer */

/* The text an option was given as (command line or config file), or NULL. */
static const char *option_given(const struct args *a, const char *name)
{
    for (size_t i = 0; i < args_option_count() && i < ARGS_MAX_OPTS; i++)
        if (strcmp(args_option_name(i), name) == 0)
            return a->src[i] ? a->given[i] : NULL;
    return NULL;
}

/* What the run was started with that shapes the race: enough to repeat it
 * (with "seed" and "build"). */
static cJSON *config_json(void *arg, const struct fatal_incident *inc)
{
    const struct daemon *d = arg;
    const struct args *a = d->args;
    const char *flap = a->link_flap_set ? option_given(a, "link-flap") : NULL;
    cJSON *o = cJSON_CreateObject();
    char bugs[96];

    (void)inc;

    cJSON_AddStringToObject(o, "heap", buildinfo_heap());
    cJSON_AddStringToObject(o, "tx_mode", tx_mode_name(a->tx_mode));
    cJSON_AddStringToObject(o, "txc_free", txc_free_name(a->txc_free));
    driver_bug_format(a->driver_bugs, bugs, sizeof(bugs));
    cJSON_AddStringToObject(o, "driver_bug", bugs);
    cJSON_AddNumberToObject(o, "txc_coalesce", a->txc_coalesce);
    cJSON_AddNumberToObject(o, "txc_coalesce_us", a->txc_coalesce_us);
    cJSON_AddNumberToObject(o, "txc_delay_us", a->txc_delay_us);
    cJSON_AddNumberToObject(o, "txc_jitter_us", a->txc_jitter_us);
    cJSON_AddStringToObject(o, "irq_policy", irq_policy_name(a->irq_policy));
    cJSON_AddStringToObject(o, "irq_target", a->irq_target);
    cJSON_AddBoolToObject(o, "single_core", a->single_core);
    /* The schedule as given (--link-flap syntax), null without flaps. */
    if (flap)
        cJSON_AddStringToObject(o, "link_flap", flap);
    else
        cJSON_AddNullToObject(o, "link_flap");
    cJSON_AddStringToObject(o, "fatal_action", fatal_action_name(a->fatal_action));
    cJSON_AddNumberToObject(o, "watchdog_ms", a->watchdog_ms);
    return o;
}

/* The name of thread LWP in the incident, or "?". */
static const char *incident_thread_name(const struct fatal_incident *inc, pid_t lwp)
{
    if (inc->current.lwp == lwp)
        return inc->current.thread;
    for (int i = 0; i < inc->nthreads; i++)
        if (inc->threads[i].lwp == lwp)
            return inc->threads[i].thread;
    return "?";
}

/* True if thread LWP will never leave the capture writer: the thread that hit
 * the incident (it waits for this report), or one frozen (in an ISR: the
 * freeze is not deferred there). */
static bool stuck(const struct fatal_incident *inc, pid_t lwp)
{
    if (inc->current.lwp == lwp)
        return true;
    for (int i = 0; i < inc->nthreads; i++)
        if (inc->threads[i].lwp == lwp && inc->threads[i].valid)
            return true;
    return false;
}

/* Flush the capture (see the note at the top) and say how it went. */
static cJSON *capture_flush_json(void *arg, const struct fatal_incident *inc)
{
    struct daemon *d = arg;
    struct capture *c = d->capture;
    cJSON *o;
    pid_t holder;
    uint64_t frames = 0;
    int err;

    if (!c)
        return NULL;
    o = cJSON_CreateObject();
    holder = capture_holder(c);
    cJSON_AddStringToObject(o, "path", capture_path(c));
    if (holder && stuck(inc, holder))
        err = -EDEADLK; /* waiting would not help */
    else
        err = capture_flush_wait(c, CRASH_CAPTURE_WAIT_MS, &holder, &frames);
    if (err == 0) {
        cJSON_AddStringToObject(o, "state", "flushed");
        cJSON_AddNumberToObject(o, "frames", (double)frames); /* records in the file */
    } else if (err == -ENOTCONN) {
        cJSON_AddStringToObject(o, "state", "not capturing");
    } else {
        cJSON_AddStringToObject(o, "state", "skipped");
        const char *why = "the writer lock could not be taken";

        if (err == -EDEADLK)
            why = "the writer lock is held by a thread that cannot go on";
        else if (err == -ETIMEDOUT)
            why = "the writer lock stayed held";
        else if (err == -EIO)
            why = "writing the capture file failed";
        cJSON_AddStringToObject(o, "why", why); /* no strerror(): it may take locale locks */
        if (holder) {
            cJSON *h = cJSON_CreateObject();
            cJSON_AddNumberToObject(h, "tid", holder);
            cJSON_AddStringToObject(h, "thread", incident_thread_name(inc, holder));
            cJSON_AddItemToObject(o, "holder", h);
        }
    }
    return o;
}

/* "seed": repeat the run with --seed (a string: 64 bits exact). */
static cJSON *seed_json(void *arg, const struct fatal_incident *inc)
{
    struct daemon *d = arg;
    char seed[24];

    (void)inc;
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)d->seed);
    return cJSON_CreateString(seed);
}

/* Append S to BUF (LEN bytes, *POS of them used, always terminated),
 * quoted for a POSIX shell when it holds anything but plain characters. */
static void shell_append(char *buf, size_t len, size_t *pos, const char *s)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_@%+=:,./-";
    bool quote = *s == '\0' || strspn(s, plain) != strlen(s);
    char tmp[8];

    if (*pos > 0)
        snprintf(tmp, sizeof(tmp), " %s", quote ? "'" : "");
    else
        snprintf(tmp, sizeof(tmp), "%s", quote ? "'" : "");
    for (const char *c = tmp; *c && *pos + 1 < len; c++)
        buf[(*pos)++] = *c;
    for (; *s && *pos + 5 < len; s++) {
        if (*s == '\'' && quote) { /* close, an escaped quote, reopen */
            memcpy(buf + *pos, "'\\''", 4);
            *pos += 4;
        } else {
            buf[(*pos)++] = *s;
        }
    }
    if (quote && *pos + 1 < len)
        buf[(*pos)++] = '\'';
    buf[*pos] = '\0';
}

/* How many words from ARG on the replay line leaves out: --seed and its
 * value (the run's seed is added at the end), and --ready-fd (a
 * descriptor the starting program held open; a shell has none). */
static int replay_drops(const char *arg)
{
    static const char *const dropped[] = {"--seed", "--ready-fd"};

    for (size_t k = 0; k < sizeof(dropped) / sizeof(dropped[0]); k++) {
        size_t n = strlen(dropped[k]);

        if (strncmp(arg, dropped[k], n) == 0 && arg[n] == '=')
            return 1;
        if (strcmp(arg, dropped[k]) == 0)
            return 2;
    }
    return 0;
}

/* "command_line": lwipd's argv, its working directory, and "replay": the
 * same command line with --seed set to this run's seed (replacing any
 * --seed given; see replay_drops()), ready for a shell. */
static cJSON *command_line_json(void *arg, const struct fatal_incident *inc)
{
    struct daemon *d = arg;
    const struct args *a = d->args;
    cJSON *o = cJSON_CreateObject();
    cJSON *argv = cJSON_CreateArray();
    char replay[4096] = "", seed[24], cwd[512];
    size_t pos = 0;

    (void)inc;
    for (int i = 0; i < a->argc; i++) {
        int drop = i > 0 ? replay_drops(a->argv[i]) : 0;

        for (int k = 0; k < (drop ? drop : 1) && i + k < a->argc; k++)
            cJSON_AddItemToArray(argv, cJSON_CreateString(a->argv[i + k]));
        if (drop) {
            i += drop - 1;
            continue;
        }
        shell_append(replay, sizeof(replay), &pos, a->argv[i]);
    }
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)d->seed);
    shell_append(replay, sizeof(replay), &pos, "--seed");
    shell_append(replay, sizeof(replay), &pos, seed);
    cJSON_AddItemToObject(o, "argv", argv);
    if (getcwd(cwd, sizeof(cwd)))
        cJSON_AddStringToObject(o, "cwd", cwd);
    cJSON_AddStringToObject(o, "replay", replay);
    return o;
}

static cJSON *build_json(void *arg, const struct fatal_incident *inc)
{
    (void)arg, (void)inc;
    return buildinfo_json();
}

static cJSON *stats_section(void *arg, const struct fatal_incident *inc)
{
    (void)inc;
    return stats_json_ex(arg, 1);
}

static cJSON *capture_path_json(void *arg, const struct fatal_incident *inc)
{
    struct daemon *d = arg;

    (void)inc;
    return d->capture ? cJSON_CreateString(capture_path(d->capture)) : NULL;
}

static const struct crash_report_section sections[] = {
    {"seed", seed_json, false},
    {"command_line", command_line_json, false},
    {"config", config_json, false},
    {"build", build_json, false},
    {"stats", stats_section, false},
    {"capture", capture_path_json, false},
    {"capture_flush", capture_flush_json, true},
};

/* No thread is frozen inside the capture writer: the report flushes it. */
static void capture_enter(void *arg)
{
    (void)arg;
    fatal_defer_begin();
}

static void capture_leave(void *arg)
{
    (void)arg;
    fatal_defer_end();
}

/* Route incidents to crash reports with D's sections, in D->report_dir,
 * with the configured --fatal-action; CONTROL_THREAD keeps running under
 * hold. Returns 0 or -errno. */
int crash_init(struct daemon *d, pid_t control_thread)
{
    struct crash_report_config cfg = {
        .dir = d->report_dir,
        .sections = sections,
        .nsections = sizeof(sections) / sizeof(sections[0]),
        .arg = d,
        .action = d->args->fatal_action,
        .keep_running = control_thread,
    };

    capture_set_guard(capture_enter, capture_leave, NULL);
    return crash_report_init(&cfg);
}
