/* SPDX-License-Identifier: MIT */
/* The delay line: frames held until a due time (or until some other frames
 * passed), then handed back by one thread of its own. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fault_inject/rule.h"

struct delay_line;

/* A held frame's time has come: DATA/LEN goes out in direction DIR. Called
 * from the delay line's thread, without its lock. */
typedef void (*delay_release_cb)(void *arg, enum fault_dir dir, const uint8_t *data, size_t len);

struct delay_stats {
    uint64_t held;     /* frames in the line now */
    uint64_t overflow; /* frames refused: the line was full */
    uint64_t released; /* frames handed back */
};

struct delay_line *delay_new(delay_release_cb release, void *arg);
void delay_free(struct delay_line *dl);
int delay_hold(struct delay_line *dl, enum fault_dir dir, const uint8_t *data, size_t len,
               uint64_t due_ns, unsigned left);
void delay_passed(struct delay_line *dl, enum fault_dir dir);
void delay_get_stats(struct delay_line *dl, struct delay_stats *out);
