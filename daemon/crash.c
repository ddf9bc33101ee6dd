/* SPDX-License-Identifier: MIT */
/* Crash reports: one JSON file per incident (kind, message, stacks, lwIP
 * stats, recent events, configuration), with the capture and events log
 * flushed beside it. Runs in port/fatal.c's reporter thread while the other
 * lwIP threads are frozen, so it takes no lock another thread might hold.
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
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "base/events.h"
#include "daemon/buildinfo.h"
#include "daemon/daemon.h"
#include "daemon/stats.h"
#include "netif_tap/netif_tap.h"
#include "port/fatal.h"
#include "mcu/irq.h"
#include "base/log.h"

#include "lwip/opt.h"

#define CRASH_EVENTS          64
#define CRASH_CAPTURE_WAIT_MS 500 /* for a thread not frozen to leave the writer */

static char crash_path[512];
static atomic_int crash_written;

static cJSON *stack_json(const struct fatal_stack *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *frames = cJSON_CreateArray();

    cJSON_AddStringToObject(o, "thread", st->thread);
    cJSON_AddNumberToObject(o, "tid", st->lwp);
    for (int i = 0; i < st->nframes; i++) {
        const struct fatal_frame *f = &st->frames[i];
        cJSON *fr = cJSON_CreateObject();
        char ip[24];

        snprintf(ip, sizeof(ip), "0x%lx", (unsigned long)f->ip);
        cJSON_AddStringToObject(fr, "ip", ip);
        if (f->fn[0]) {
            cJSON_AddStringToObject(fr, "fn", f->fn);
            cJSON_AddNumberToObject(fr, "off", (double)f->off);
        } else {
            cJSON_AddNullToObject(fr, "fn");
        }
        if (f->signal_frame)
            cJSON_AddTrueToObject(fr, "interrupt"); /* the frames after it were interrupted */
        cJSON_AddItemToArray(frames, fr);
    }
    cJSON_AddItemToObject(o, "frames", frames);
    return o;
}

static cJSON *events_json(void)
{
    struct events_record *recs = fatal_alloc(CRASH_EVENTS * sizeof(*recs));
    cJSON *arr = cJSON_CreateArray();
    char line[EVENTS_TEXT_LEN + 128];
    size_t n = recs ? events_recent(recs, CRASH_EVENTS) : 0;

    for (size_t i = 0; i < n; i++) {
        /* Raw: kept as written, 64-bit numbers exact. */
        events_format(&recs[i], line, sizeof(line));
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(line));
    }
    fatal_free(recs);
    return arr;
}

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
static cJSON *config_json(struct daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    const struct args *a = d->args;
    const char *flap = a->link_flap_set ? option_given(a, "link-flap") : NULL;

    cJSON_AddStringToObject(o, "heap", buildinfo_heap());
    cJSON_AddStringToObject(o, "tx_mode", tx_mode_name(a->tx_mode));
    cJSON_AddStringToObject(o, "txc_free", txc_free_name(a->txc_free));
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
static const char *thread_name(const struct fatal_incident *inc, pid_t lwp)
{
    if (inc->current.lwp == lwp)
        return inc->current.thread;
    for (int i = 0; i < inc->nthreads; i++)
        if (inc->threads[i].lwp == lwp)
            return inc->threads[i].thread;
    return "?";
}

/* 1 if thread LWP will never leave the capture writer: the thread that hit
 * the incident (it waits for this report), or one frozen (in an ISR: the
 * freeze is not deferred there). */
static int stuck(const struct fatal_incident *inc, pid_t lwp)
{
    if (inc->current.lwp == lwp)
        return 1;
    for (int i = 0; i < inc->nthreads; i++)
        if (inc->threads[i].lwp == lwp && inc->threads[i].valid)
            return 1;
    return 0;
}

/* Flush the capture (see the note at the top) and say how it went. */
static cJSON *capture_flush_json(struct capture *c, const struct fatal_incident *inc)
{
    cJSON *o = cJSON_CreateObject();
    pid_t holder = capture_holder(c);
    uint64_t frames = 0;
    int err;

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
            cJSON_AddStringToObject(h, "thread", thread_name(inc, holder));
            cJSON_AddItemToObject(o, "holder", h);
        }
    }
    return o;
}

static int stack_has(const struct fatal_stack *st, const char *fn)
{
    for (int i = 0; i < st->nframes; i++)
        if (strcmp(st->frames[i].fn, fn) == 0)
            return 1;
    return 0;
}

/* One-line explanation a human reads first. */
static const char *explain(const struct fatal_incident *inc)
{
    if (strcmp(inc->kind, "irq-violation") == 0) {
        if (strstr(inc->violation, "re-entered"))
            return "An interrupt handler tried to take a lock that the code it interrupted was "
                   "holding. On a single-core MCU it can never be released: with a semaphore-"
                   "guarded heap (seed 000) the ISR corrupts the heap instead. Free from a task "
                   "(--txc-free task|callback) or protect the heap by disabling interrupts "
                   "(LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT=1 with lwIP's own heap).";
        if (strstr(inc->violation, "another thread"))
            return "An interrupt handler would have to wait for a lock held by a thread it "
                   "preempted: an ISR must never block.";
        return "An interrupt handler called a primitive that may block: an ISR must never "
               "block.";
    }
    if (strcmp(inc->kind, "watchdog") == 0)
        return "lwIP's tcpip thread stopped making progress; every thread's stack is below.";
    if (strcmp(inc->kind, "lwip-assert") == 0 && stack_has(&inc->current, "mem_sanity") &&
        stack_has(&inc->current, "mem_malloc") && irq_violation_count() == 0 &&
        LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT)
        return "lwIP's MEM_SANITY_CHECK fired although no ISR rule was broken: mem_malloc() "
               "runs mem_sanity() after it has released the heap lock (lwIP's mem.c), so a free "
               "from an ISR during that walk - legal with LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT=1 "
               "- makes the check see a heap in the middle of an update. A false alarm of the "
               "check, not corruption: build without MEM_SANITY_CHECK, or free from a task.";
    if (strcmp(inc->kind, "lwip-assert") == 0)
        return irq_violation_count() > 0
                   ? "lwIP's own check failed after ISR rule breaks were tolerated "
                     "(--irq-policy rtos): the corruption they caused was caught here."
                   : "lwIP's own check failed.";
    if (strcmp(inc->kind, "signal") == 0)
        return irq_violation_count() > 0
                   ? "lwipd crashed after ISR rule breaks were tolerated (--irq-policy rtos): "
                     "memory was corrupted."
                   : "lwipd crashed.";
    return "";
}

static int write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    size_t len = strlen(data);

    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w <= 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        data += w;
        len -= (size_t)w;
    }
    fsync(fd);
    close(fd);
    return 0;
}

/* The fatal writer (reporter thread). */
static void crash_write(const struct fatal_incident *inc, char *path, size_t pathlen)
{
    struct daemon *d = the_daemon;
    cJSON *o = cJSON_CreateObject();
    cJSON *flush = NULL;
    char *text;
    time_t secs = (time_t)(inc->ts_ns / 1000000000u);
    struct tm tm;
    char stamp[80];
    int err;

    if (!d || !o)
        return;
    if (d->capture)
        flush = capture_flush_json(d->capture, inc);
    events_emit("fatal", "\"kind\":\"%s\"", inc->kind);
    events_flush_try();

    cJSON_AddStringToObject(o, "kind", inc->kind);
    cJSON_AddStringToObject(o, "message", inc->message);
    cJSON_AddStringToObject(o, "explanation", explain(inc));
    if (inc->violation[0]) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "rule", inc->violation);
        cJSON_AddStringToObject(v, "primitive", inc->primitive);
        cJSON_AddStringToObject(v, "object", inc->object);
        cJSON_AddItemToObject(o, "violation", v);
    }
    cJSON_AddBoolToObject(o, "in_isr", inc->in_isr);
    char ts[24];
    snprintf(ts, sizeof(ts), "%llu", (unsigned long long)inc->ts_ns);
    cJSON_AddRawToObject(o, "ts_ns", ts);
    cJSON_AddNumberToObject(o, "pid", getpid());
    char seed[24];
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)d->seed);
    cJSON_AddStringToObject(o, "seed", seed); /* repeat the run with --seed */
    cJSON_AddNumberToObject(o, "irq_violations", (double)irq_violation_count());
    if (inc->current.valid)
        cJSON_AddItemToObject(o, inc->in_isr ? "isr_stack" : "stack", stack_json(&inc->current));
    if (inc->interrupted.valid)
        cJSON_AddItemToObject(
            o, strcmp(inc->kind, "signal") == 0 ? "faulting_stack" : "interrupted_stack",
            stack_json(&inc->interrupted));
    cJSON *threads = cJSON_CreateArray();
    for (int i = 0; i < inc->nthreads; i++) {
        if (inc->threads[i].valid)
            cJSON_AddItemToArray(threads, stack_json(&inc->threads[i]));
    }
    cJSON_AddItemToObject(o, "threads", threads);
    cJSON_AddItemToObject(o, "config", config_json(d));
    cJSON_AddItemToObject(o, "build", buildinfo_json());
    cJSON_AddItemToObject(o, "stats", stats_json_ex(d, 1));
    cJSON_AddItemToObject(o, "events", events_json());
    if (d->capture)
        cJSON_AddStringToObject(o, "capture", capture_path(d->capture));
    if (flush)
        cJSON_AddItemToObject(o, "capture_flush", flush);

    log_utc_time(secs, &tm); /* gmtime_r() takes a lock a frozen thread may hold */
    snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(path, pathlen, "%s/lwipd-crash-%s-%d.json", d->report_dir, stamp, (int)getpid());
    text = cJSON_Print(o);
    cJSON_Delete(o);
    err = text ? write_file(path, text) : -ENOMEM;
    cJSON_free(text);
    if (err) {
        fatal_write_str("lwipd: cannot write the crash report: ");
        fatal_write_str(strerror(-err));
        fatal_write_str("\n");
        path[0] = '\0';
        return;
    }
    snprintf(crash_path, sizeof(crash_path), "%s", path);
    atomic_store(&crash_written, 1);
}

/* Route incidents to crash_write() with the configured action. */
void crash_init(struct daemon *d, pid_t control_thread)
{
    /* every cJSON document may end up built by the reporter */
    cJSON_Hooks hooks = {.malloc_fn = fatal_alloc, .free_fn = fatal_free};

    cJSON_InitHooks(&hooks);
    /* no thread is frozen inside the capture writer: the report flushes it */
    capture_set_guard(fatal_defer_begin, fatal_defer_end);
    fatal_configure(crash_write, d->args->fatal_action, control_thread);
}

/* The report written by this process, or NULL. */
const char *crash_report_path(void)
{
    return atomic_load(&crash_written) ? crash_path : NULL;
}
