/* SPDX-License-Identifier: MIT */
/* Inside crash/: what fatal.c, fatal_freeze.c and fatal_stack.c share.
 * The order is a line: fatal.c uses fatal_freeze.c and fatal_stack.c,
 * fatal_freeze.c uses fatal_stack.c, which uses symbols.c (fatal.c loads
 * its tables at start-up). */
#pragma once

#include <sys/types.h>

#include "crash/fatal.h"

/* fatal_stack.c */
void fatal_copy_str(char *dst, const char *src, size_t n);
void fatal_stack_capture(struct fatal_stack *st, int stop_at_signal);
void fatal_stack_capture_uc(struct fatal_stack *st, void *uc);
void fatal_stack_symbolize(struct fatal_stack *st);
void fatal_stack_print(const char *title, const struct fatal_stack *st);

/* fatal_freeze.c */
void fatal_freeze_init(void);
void fatal_freeze_self(void) __attribute__((noreturn));
void fatal_freeze_others(struct fatal_incident *inc, const pid_t *skip, int nskip);
