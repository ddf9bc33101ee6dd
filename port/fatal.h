/* SPDX-License-Identifier: MIT */
/* Fatal incidents: lwIP asserts, ISR violations, faults. Write-only reporter. */
#pragma once

#include <stddef.h>

/* Called once per incident, after the message and stack reached stderr, from
 * the thread that hit it (possibly inside an ISR): flush what must survive. */
typedef void (*fatal_hook_cb)(const char *kind, const char *message);

void fatal_init(void);
void fatal_set_hook(fatal_hook_cb hook);
void fatal_write_str(const char *s);
void fatal_violation(const char *kind, const char *primitive, const char *object, void *uc)
    __attribute__((noreturn));
void fatal_report(const char *kind, const char *message) __attribute__((noreturn));
