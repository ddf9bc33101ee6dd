/* SPDX-License-Identifier: MIT */
/* Fatal incident reporter.
 *
 * Runs where things went wrong, possibly inside an emulated ISR, so the first
 * part uses only write() and backtrace_symbols_fd(); backtrace() is primed at
 * fatal_init() so its lazy libgcc load does not happen in a signal handler.
 */
#define _GNU_SOURCE
#include "port/fatal.h"

#include <execinfo.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fatal_hook_cb fatal_hook;
static atomic_int fatal_entered;

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

void fatal_init(void)
{
    void *frames[4];

    backtrace(frames, 4);
}

void fatal_set_hook(fatal_hook_cb hook)
{
    fatal_hook = hook;
}

/* Report KIND/MESSAGE with the current stack and stop with SIGABRT. Only the
 * first incident is reported; a second thread arriving here waits to die. */
void fatal_report(const char *kind, const char *message)
{
    void *frames[64];
    int n;

    if (atomic_exchange(&fatal_entered, 1) != 0) {
        for (;;)
            pause();
    }
    fatal_write_str("lwipd: FATAL ");
    fatal_write_str(kind);
    fatal_write_str(": ");
    fatal_write_str(message);
    fatal_write_str("\nlwipd: stack:\n");
    n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    if (fatal_hook)
        fatal_hook(kind, message);
    signal(SIGABRT, SIG_DFL);
    abort();
}

/* An ISR violated the rules under --irq-policy detect. */
void fatal_violation(const char *kind, const char *primitive, const char *object, void *uc)
{
    char msg[256];

    (void)uc;
    snprintf(msg, sizeof(msg), "%s: %s on %s", kind, primitive, object ? object : "?");
    fatal_report("irq-violation", msg);
}
