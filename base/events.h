/* SPDX-License-Identifier: MIT */
/* Events: what happened and when (link edges, fault actions, IRQ faults and
 * violations, marks, the seed), on CLOCK_REALTIME (base_realtime_ns()), the
 * capture's clock too. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVENTS_TYPE_LEN 16
#define EVENTS_TEXT_LEN 200
/* The schema version every event carries as "api" (as control responses). */
#define EVENTS_API 1

struct events_record {
    uint64_t seq;   /* 1, 2, ...; 0 while being written */
    uint64_t ts_ns; /* CLOCK_REALTIME, as the pcap timestamps */
    char type[EVENTS_TYPE_LEN];
    char text[EVENTS_TEXT_LEN]; /* JSON members without braces: "state":"down" */
};

void events_init(void);
int events_open(const char *path);
void events_set_rotation(uint64_t bytes, unsigned count);
int events_reopen(void);
void events_close(void);
uint64_t events_emit(const char *type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t events_emit_raw(const char *type, const char *text);
void events_flush(void);
void events_flush_try(void);
size_t events_recent(struct events_record *out, size_t max);
uint64_t events_count(void);
int events_get(uint64_t seq, struct events_record *out);
size_t events_ring_size(void);
int events_format(const struct events_record *r, char *buf, size_t len);
