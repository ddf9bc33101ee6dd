/* SPDX-License-Identifier: MIT */
/* Stacks for crash reports: recorded in the thread that hit the incident
 * (or from a signal's ucontext) with libunwind, without locks or
 * allocation; named (function, file:line) later, in the reporter thread
 * (symbols.c); printed on
 * stderr with write() only. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "lwipd_config.h"
#include "crash/fatal_priv.h"

#include <libunwind.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "crash/symbols.h"

/* S on stderr with write() only: for the fatal path. */
void fatal_write_str(const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void write_num(uintptr_t v, int base)
{
    char buf[32];
    int i = sizeof(buf) - 1;

    buf[i] = '\0';
    do {
        buf[--i] = "0123456789abcdef"[v % (uintptr_t)base];
        v /= (uintptr_t)base;
    } while (v && i > 0);
    fatal_write_str(buf + i);
}

/* strncpy that always terminates and takes NULL as "". Async-signal-safe. */
void fatal_copy_str(char *dst, const char *src, size_t n)
{
    size_t i = 0;

    for (; src && src[i] && i + 1 < n; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

/* Fill ST with the instruction pointers of CURSOR's frames. Only what is
 * safe in a signal handler that may have interrupted malloc(): no symbol
 * lookup here (libunwind's unw_get_proc_name allocates); names come later,
 * in the reporter thread. With STOP_AT_SIGNAL, the walk ends at the first
 * signal trampoline (the rest belongs to the interrupted code, recorded
 * separately from the ucontext). */
static void walk(unw_cursor_t *cursor, struct fatal_stack *st, int stop_at_signal)
{
    st->nframes = 0;
    do {
        unw_word_t ip = 0;
        struct fatal_frame *f;

        unw_get_reg(cursor, UNW_REG_IP, &ip);
        /* libunwind flags the frame whose registers came out of a signal
         * context: the interrupted code. The frame above it is the kernel's
         * signal return trampoline. */
        if (unw_is_signal_frame(cursor) > 0 && st->nframes > 0) {
            st->frames[st->nframes - 1].signal_frame = 1;
            if (stop_at_signal)
                break;
        }
        f = &st->frames[st->nframes++];
        f->ip = (uintptr_t)ip;
        f->off = 0;
        f->fn[0] = '\0';
        f->file[0] = '\0';
        f->line = 0;
        f->signal_frame = 0;
    } while (st->nframes < FATAL_MAX_FRAMES && unw_step(cursor) > 0);
    st->valid = 1;
}

/* Reporter thread: name every frame, and drop the reporter's own frames
 * (fatal_*, walk, ...) from the top of the stack. ST as filled by
 * fatal_stack_capture() or fatal_stack_capture_uc(). */
void fatal_stack_symbolize(struct fatal_stack *st)
{
    int first = -1;

    for (int i = 0; i < st->nframes; i++) {
        struct fatal_frame *f = &st->frames[i];
        uintptr_t off = 0;

        if (f->signal_frame) {
            fatal_copy_str(f->fn, "<signal>", sizeof(f->fn));
        } else {
            /* A return address points after the call: look up ip - 1. The
             * top frame and one a signal interrupted hold the exact ip. */
            uintptr_t back = i > 0 && !st->frames[i - 1].signal_frame ? 1 : 0;

            symbols_lookup(f->ip - back, f->fn, sizeof(f->fn), &off);
            f->off = off + back;
            symbols_source(f->ip - back, f->file, sizeof(f->file), &f->line);
        }
        if (first < 0 && strncmp(f->fn, "fatal_", 6) != 0 && strcmp(f->fn, "walk") != 0 &&
            strcmp(f->fn, "incident_begin") != 0 && strcmp(f->fn, "freeze_handler") != 0 &&
            strcmp(f->fn, "freeze_current") != 0 && strcmp(f->fn, "crash_handler") != 0)
            first = i;
    }
    if (first > 0) {
        memmove(st->frames, st->frames + first,
                (size_t)(st->nframes - first) * sizeof(st->frames[0]));
        st->nframes -= first;
    }
}

static void name_thread(struct fatal_stack *st)
{
    st->lwp = base_gettid();
    if (pthread_getname_np(pthread_self(), st->thread, sizeof(st->thread)) != 0)
        fatal_copy_str(st->thread, "?", sizeof(st->thread));
}

/* Record the calling thread's name and the instruction pointers of its
 * stack into ST (see walk() for STOP_AT_SIGNAL). Async-signal-safe. */
void fatal_stack_capture(struct fatal_stack *st, int stop_at_signal)
{
    unw_context_t ctx;
    unw_cursor_t cursor;

    name_thread(st);
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cursor, &ctx) != 0)
        return;
    walk(&cursor, st, stop_at_signal);
}

/* The same for the code a signal interrupted, from its ucontext UC. */
void fatal_stack_capture_uc(struct fatal_stack *st, void *uc)
{
    unw_cursor_t cursor;

    name_thread(st);
    if (unw_init_local2(&cursor, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) != 0)
        return;
    walk(&cursor, st, 0);
}

/* ST on stderr under TITLE, with write() only. Nothing if ST is not valid. */
void fatal_stack_print(const char *title, const struct fatal_stack *st)
{
    if (!st->valid)
        return;
    fatal_write_str("lwipd: ");
    fatal_write_str(title);
    fatal_write_str(" (thread ");
    fatal_write_str(st->thread);
    fatal_write_str("):\n");
    for (int i = 0; i < st->nframes; i++) {
        const struct fatal_frame *f = &st->frames[i];
        fatal_write_str("  #");
        write_num((uintptr_t)i, 10);
        fatal_write_str(" 0x");
        write_num(f->ip, 16);
        fatal_write_str(" ");
        fatal_write_str(f->fn[0] ? f->fn : "?");
        if (f->fn[0] && !f->signal_frame && f->off) {
            fatal_write_str("+0x");
            write_num(f->off, 16);
        }
        if (f->file[0]) {
            fatal_write_str(" ");
            fatal_write_str(f->file);
            fatal_write_str(":");
            write_num((uintptr_t)f->line, 10);
        }
        if (f->signal_frame)
            fatal_write_str("  (an interrupt: the code below was running)");
        fatal_write_str("\n");
    }
}
