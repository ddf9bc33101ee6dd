/* SPDX-License-Identifier: MIT */
/* The lwIP asserts fuzz_frame knows: triaged lwIP bugs it counts and passes
 * over, or ends the run on (known_asserts.c says which and why). */
#pragma once

#include <stdbool.h>

enum known_action {
    KNOWN_NONE, /* not a known assert: a crash */
    KNOWN_PASS, /* return into lwIP */
    KNOWN_END,  /* end the process with KNOWN_END_STATUS */
};

/* The exit status after a KNOWN_END assert: EX_TEMPFAIL, "run again" to
 * scripts/fuzz. */
#define KNOWN_END_STATUS 75

void known_asserts_init(bool strict);
enum known_action known_asserts_check(const char *msg, int line, const char *file);
void known_asserts_report(unsigned long inputs_run);
