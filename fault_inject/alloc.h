/* SPDX-License-Identifier: MIT */
/* Allocation-failure rules ("alloc fail ..."): which of lwIP's pool and
 * heap allocations the wrappers in alloc_wrap.c make fail. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault_inject/rule.h"

#define ALLOC_MAX_RULES 64

struct alloc_set;

/* The frame lwIP's input was processing before alloc_frame_begin() (they
 * nest), restored by alloc_frame_end(). */
struct alloc_frame {
    bool in_frame;
    uint64_t mask;
};

typedef void (*alloc_list_cb)(void *arg, const struct fault_rule *r);

struct alloc_set *alloc_set_new(uint64_t seed);
void alloc_set_free(struct alloc_set *s);
int alloc_set_add(struct alloc_set *s, struct fault_rule *r, char *err, size_t errlen);
int alloc_set_del(struct alloc_set *s, unsigned id);
void alloc_set_clear(struct alloc_set *s);
size_t alloc_set_list(struct alloc_set *s, alloc_list_cb cb, void *arg);
void alloc_set_arm(struct alloc_set *s);

/* The wrappers' side: async-signal-safe, no lock, no malloc. */
bool alloc_decide(int pool);
bool alloc_frame_filters(void);
void alloc_frame_begin(const uint8_t *data, size_t caplen, size_t len, struct alloc_frame *saved);
void alloc_frame_end(const struct alloc_frame *saved);
uint64_t alloc_injected(int pool);
