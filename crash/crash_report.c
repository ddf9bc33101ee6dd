/* SPDX-License-Identifier: MIT */
/* Crash reports: one JSON file per incident (kind, message, explanation,
 * stacks with file:line, recent events, and the sections the program
 * added: see crash_report.h), and its text form beside it (crash_text.c,
 * rendered from the same document). Runs in crash/fatal.c's reporter
 * thread while the other threads are frozen, so it takes no lock another
 * thread might hold. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "crash/crash_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/events.h"
#include "base/log.h"
#include "crash/crash_text.h"
#include "mcu/irq.h"

#define CRASH_EVENTS 64

static struct {
    struct crash_report_config cfg;
    char path[512];
    atomic_int written;
} cr;

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
            if (f->file[0]) {
                cJSON_AddStringToObject(fr, "file", f->file);
                cJSON_AddNumberToObject(fr, "line", f->line);
            }
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

static bool stack_has(const struct fatal_stack *st, const char *fn)
{
    for (int i = 0; i < st->nframes; i++)
        if (strcmp(st->frames[i].fn, fn) == 0)
            return true;
    return false;
}

/* One-line explanation a human reads first. */
static const char *explain(const struct fatal_incident *inc)
{
    if (strcmp(inc->kind, "irq-violation") == 0) {
        if (strstr(inc->violation, "re-entered"))
            return "An interrupt handler tried to take a lock that the code it interrupted was "
                   "holding. On a single-core MCU it can never be released: with a semaphore-"
                   "guarded heap (the ISR heap re-entry) the ISR corrupts the heap instead. Free "
                   "from a task "
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
        LWIPD_MEM_FREE_FROM_OTHER_CONTEXT)
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

/* The text form of report O beside its JSON file JSON_PATH
 * (lwipd-crash-*.txt). A failure is said on stderr: the JSON is there. */
static void write_text(const cJSON *o, const char *json_path)
{
    char path[sizeof(cr.path)];
    char *text = crash_text_render(o);
    int err = text ? 0 : -ENOMEM;

    if (!err)
        err = crash_text_path(json_path, path, sizeof(path)) == 0 ? write_file(path, text)
                                                                  : -ENAMETOOLONG;
    cJSON_free(text);
    if (err) {
        fatal_write_str("lwipd: cannot write the crash report's text form: ");
        fatal_write_str(strerror(-err));
        fatal_write_str("\n");
    }
}

/* The fatal writer (reporter thread): fatal_configure()'s ARG is cr.cfg. */
static void crash_report_write(void *arg, const struct fatal_incident *inc, char *path,
                               size_t pathlen)
{
    const struct crash_report_config *cfg = arg;
    cJSON *early[CRASH_REPORT_MAX_SECTIONS] = {NULL};
    cJSON *o = cJSON_CreateObject();
    char *text;
    time_t secs = (time_t)(inc->ts_ns / 1000000000u);
    struct tm tm;
    char stamp[80];
    int err;

    if (!o)
        return;
    for (size_t i = 0; i < cfg->nsections; i++)
        if (cfg->sections[i].early)
            early[i] = cfg->sections[i].fn(cfg->arg, inc);
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
    cJSON_AddItemToObject(o, "events", events_json());
    for (size_t i = 0; i < cfg->nsections; i++) {
        cJSON *v = cfg->sections[i].early ? early[i] : cfg->sections[i].fn(cfg->arg, inc);
        if (v)
            cJSON_AddItemToObject(o, cfg->sections[i].key, v);
    }

    log_utc_time(secs, &tm); /* gmtime_r() takes a lock a frozen thread may hold */
    snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(path, pathlen, "%s/lwipd-crash-%s-%d.json", cfg->dir, stamp, (int)getpid());
    text = cJSON_Print(o);
    err = text ? write_file(path, text) : -ENOMEM;
    cJSON_free(text);
    if (err) {
        cJSON_Delete(o);
        fatal_write_str("lwipd: cannot write the crash report: ");
        fatal_write_str(strerror(-err));
        fatal_write_str("\n");
        path[0] = '\0';
        return;
    }
    write_text(o, path);
    cJSON_Delete(o);
    snprintf(cr.path, sizeof(cr.path), "%s", path);
    atomic_store(&cr.written, 1);
}

/* Route incidents to the report writer with CFG's sections, directory and
 * action (CFG is copied; its sections table is not). cJSON's allocator
 * becomes fatal_alloc(), since any document may end up built by the
 * reporter. Returns 0, or -EINVAL for more than CRASH_REPORT_MAX_SECTIONS
 * sections (nothing changed then). */
int crash_report_init(const struct crash_report_config *cfg)
{
    cJSON_Hooks hooks = {.malloc_fn = fatal_alloc, .free_fn = fatal_free};

    if (cfg->nsections > CRASH_REPORT_MAX_SECTIONS)
        return -EINVAL;
    cr.cfg = *cfg;
    cJSON_InitHooks(&hooks);
    fatal_configure(crash_report_write, &cr.cfg, cfg->action, cfg->keep_running);
    return 0;
}

/* Write no more reports (the sections' arg is going away): a later
 * incident is reported on stderr and in the log only. */
void crash_report_stop(void)
{
    fatal_configure(NULL, NULL, cr.cfg.action, cr.cfg.keep_running);
}

/* The report written by this process, or NULL. */
const char *crash_report_path(void)
{
    return atomic_load(&cr.written) ? cr.path : NULL;
}
