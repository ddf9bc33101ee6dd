/* SPDX-License-Identifier: MIT */
/* The text form of a crash report, rendered from its JSON: the rule broken
 * first, then the stacks with file:line, the lock, the last events and the
 * command line that replays the run.
 *
 * One renderer for both of its users: lwipd's reporter writes the .txt
 * beside the .json from the document it has just written, and lwipctl
 * renders a .json whose .txt is missing. So it depends on cJSON and libc
 * only, and allocates with cJSON_malloc(): in lwipd's reporter that is the
 * reporter's own memory (crash_report_init() set cJSON's hooks). The
 * document may hold raw members (lwipd's events and 64-bit numbers, before
 * they were printed) or parsed ones (a file read back): both are taken. */
#include "crash/crash_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRAP 78

struct tbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Append printf(FMT, ...) to B; on no memory B is marked and left as is. */
static void __attribute__((format(printf, 2, 3))) put(struct tbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap : 4096);
        char *p;

        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        p = cJSON_malloc(cap); /* no realloc: the reporter's memory has none */
        if (!p) {
            b->oom = true;
            return;
        }
        if (b->p)
            memcpy(p, b->p, b->len);
        cJSON_free(b->p);
        b->p = p;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Member KEY of O as a string, or DEF. */
static const char *str_of(const cJSON *o, const char *key, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

/* A number that may be raw text (exact 64 bits), a string or a double. */
static uint64_t u64_of(const cJSON *v)
{
    if ((cJSON_IsRaw(v) || cJSON_IsString(v)) && v->valuestring)
        return strtoull(v->valuestring, NULL, 10);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

/* TEXT word-wrapped at WRAP columns. */
static void put_wrapped(struct tbuf *b, const char *text)
{
    const char *p = text;

    while (*p) {
        size_t n = strlen(p), cut = n;

        if (n > WRAP) {
            cut = WRAP;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = WRAP;
        }
        put(b, "%.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
    }
}

/* One frame: "#N 0xADDR in fn file:line", as sanitizers print them. */
static void put_frame(struct tbuf *b, int i, const cJSON *fr)
{
    const char *fn = str_of(fr, "fn", NULL);
    const char *file = str_of(fr, "file", NULL);
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(fr, "line");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(fr, "off");

    put(b, "    #%d %s in %s", i, str_of(fr, "ip", "0x?"), fn ? fn : "??");
    if (file && cJSON_IsNumber(line))
        put(b, " %s:%d", file, line->valueint);
    else if (fn && cJSON_IsNumber(off) && off->valuedouble > 0)
        put(b, "+0x%" PRIx64, (uint64_t)off->valuedouble);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fr, "interrupt")))
        put(b, "  (a signal: the frames below it were interrupted)");
    put(b, "\n");
}

/* Stack ST under TITLE; nothing when ST is not a stack. */
static void put_stack(struct tbuf *b, const char *title, const cJSON *st)
{
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(st, "frames");
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(st, "tid");
    const cJSON *fr;
    int i = 0;

    if (!cJSON_IsObject(st))
        return;
    put(b, "%s (thread %s, tid %d):\n", title, str_of(st, "thread", "?"),
        cJSON_IsNumber(tid) ? tid->valueint : 0);
    cJSON_ArrayForEach(fr, frames) put_frame(b, i++, fr);
    put(b, "\n");
}

/* Where the summary points, as " in fn file:line": the caller of
 * PRIMITIVE (the call that broke the rule) when ST has it, else ST's
 * first frame with a source line. */
static void put_culprit(struct tbuf *b, const cJSON *st, const char *primitive)
{
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(st, "frames");
    const cJSON *fr, *line, *pick = NULL;
    bool after = false;

    cJSON_ArrayForEach(fr, frames)
    {
        if (after) {
            pick = fr;
            break;
        }
        after = primitive && strcmp(str_of(fr, "fn", ""), primitive) == 0;
    }
    cJSON_ArrayForEach(fr, frames)
    {
        if (pick)
            break;
        if (str_of(fr, "file", NULL))
            pick = fr;
    }
    line = cJSON_GetObjectItemCaseSensitive(pick, "line");
    if (str_of(pick, "file", NULL) && cJSON_IsNumber(line))
        put(b, " in %s %s:%d", str_of(pick, "fn", "??"), str_of(pick, "file", ""), line->valueint);
}

/* One event: its time from the incident, its type, its other members. */
static void put_event(struct tbuf *b, const cJSON *ev, uint64_t t0)
{
    cJSON *parsed = NULL;
    const cJSON *m;
    uint64_t ts;

    if (cJSON_IsRaw(ev)) /* lwipd's own document: the line as recorded */
        ev = parsed = cJSON_Parse(ev->valuestring);
    if (!cJSON_IsObject(ev))
        goto out;
    ts = u64_of(cJSON_GetObjectItemCaseSensitive(ev, "ts_ns"));
    if (ts && t0)
        put(b, "  %+11.6f s  ", ts >= t0 ? (double)(ts - t0) / 1e9 : -(double)(t0 - ts) / 1e9);
    else
        put(b, "  %11s    ", "?");
    put(b, "%-14s", str_of(ev, "type", "?"));
    cJSON_ArrayForEach(m, ev)
    {
        char *v;

        if (!m->string || strcmp(m->string, "api") == 0 || strcmp(m->string, "seq") == 0 ||
            strcmp(m->string, "ts_ns") == 0 || strcmp(m->string, "type") == 0)
            continue;
        v = cJSON_PrintUnformatted(m);
        if (v)
            put(b, " %s=%s", m->string, v);
        cJSON_free(v);
    }
    put(b, "\n");
out:
    cJSON_Delete(parsed);
}

static void put_events(struct tbuf *b, const cJSON *r, uint64_t t0)
{
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(r, "events");
    const cJSON *ev;

    put(b, "Last events (oldest first; time from the incident):\n");
    if (cJSON_GetArraySize(events) == 0)
        put(b, "  (none recorded)\n");
    cJSON_ArrayForEach(ev, events) put_event(b, ev, t0);
    put(b, "\n");
}

/* The command line that repeats the run, with its seed. */
static void put_replay(struct tbuf *b, const cJSON *r)
{
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(r, "command_line");
    const char *seed = str_of(r, "seed", NULL);

    put(b, "Replay (same options, same seed):\n");
    if (str_of(cl, "replay", NULL)) {
        if (str_of(cl, "cwd", NULL))
            put(b, "  cd %s &&\n", str_of(cl, "cwd", ""));
        put(b, "  %s\n", str_of(cl, "replay", ""));
    } else {
        put(b, "  (the command line was not recorded) lwipd ... --seed %s\n", seed ? seed : "?");
    }
    put(b, "\n");
}

/* The text form of report R (see the note at the top), a string to release
 * with cJSON_free(), or NULL when out of memory. */
char *crash_text_render(const cJSON *r)
{
    struct tbuf b = {0};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "violation");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(r, "pid");
    const char *kind = str_of(r, "kind", "?");
    const char *stack_key = cJSON_HasObjectItem(r, "isr_stack") ? "isr_stack" : "stack";
    const char *under_key =
        cJSON_HasObjectItem(r, "faulting_stack") ? "faulting_stack" : "interrupted_stack";
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(r, "threads");
    uint64_t t0 = u64_of(cJSON_GetObjectItemCaseSensitive(r, "ts_ns"));
    const cJSON *t;

    put(&b, "==%d==ERROR: lwipd: %s: %s\n", cJSON_IsNumber(pid) ? pid->valueint : 0, kind,
        str_of(r, "message", ""));
    if (cJSON_IsObject(v)) {
        put(&b, "  rule broken: %s\n", str_of(v, "rule", "?"));
        put(&b, "  by calling:  %s\n", str_of(v, "primitive", "?"));
        put(&b, "  lock:        %s\n", str_of(v, "object", "?"));
    }
    put(&b, "  in an ISR:   %s\n",
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "in_isr")) ? "yes" : "no");
    put(&b, "  seed:        %s\n\n", str_of(r, "seed", "?"));
    if (*str_of(r, "explanation", "")) {
        put_wrapped(&b, str_of(r, "explanation", ""));
        put(&b, "\n");
    }
    put_stack(&b, strcmp(stack_key, "isr_stack") == 0 ? "ISR stack" : "Stack",
              cJSON_GetObjectItemCaseSensitive(r, stack_key));
    put_stack(&b,
              strcmp(under_key, "faulting_stack") == 0 ? "Faulting code"
                                                       : "Interrupted code (under the ISR)",
              cJSON_GetObjectItemCaseSensitive(r, under_key));
    cJSON_ArrayForEach(t, threads) put_stack(&b, "Frozen thread", t);
    put_events(&b, r, t0);
    put_replay(&b, r);
    put(&b, "SUMMARY: lwipd: %s", kind);
    if (cJSON_IsObject(v))
        put(&b, " (%s on %s)", str_of(v, "primitive", "?"), str_of(v, "object", "?"));
    put_culprit(&b, cJSON_GetObjectItemCaseSensitive(r, stack_key), str_of(v, "primitive", NULL));
    put(&b, "\n");
    if (b.oom) {
        cJSON_free(b.p);
        return NULL;
    }
    return b.p;
}

/* The text report's path for the JSON report JSON_PATH (".json" becomes
 * ".txt"; another name gets ".txt" added) into OUT (LEN bytes). Returns 0,
 * or -1 when it does not fit. */
int crash_text_path(const char *json_path, char *out, size_t len)
{
    size_t n = strlen(json_path);
    int w;

    if (n >= 5 && strcmp(json_path + n - 5, ".json") == 0)
        n -= 5;
    w = snprintf(out, len, "%.*s.txt", (int)n, json_path);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}
