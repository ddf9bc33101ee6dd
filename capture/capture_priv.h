/* SPDX-License-Identifier: MIT */
/* The capture's internals shared by capture.c (the writer), capture_pcapng.c
 * (pcapng block encoding) and capture_note.c (fault notes and events as
 * frame comments). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

#define PCAPNG_COMMENTS    40  /* comments on one frame, at most */
#define PCAPNG_COMMENT_LEN 320 /* bytes of one comment, at most */

/* The comments a frame gets in a pcapng file. */
struct capture_comments {
    unsigned n;
    char text[PCAPNG_COMMENTS][PCAPNG_COMMENT_LEN];
};

size_t pcapng_shb(uint8_t *buf, size_t cap);
size_t pcapng_idb(uint8_t *buf, size_t cap, unsigned snaplen);
size_t pcapng_epb_size(size_t caplen, const struct capture_comments *cm);
size_t pcapng_epb_head(uint8_t *buf, size_t total, uint64_t ts_ns, size_t caplen, size_t len);
size_t pcapng_epb_tail(uint8_t *buf, size_t cap, size_t total, size_t caplen, enum capture_dir dir,
                       const struct capture_comments *cm);

void capture_comment_add(struct capture_comments *cm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t capture_events_attach(struct capture_comments *cm, uint64_t next);
void capture_note_events(struct capture_note *n, enum capture_dir dir, struct capture_comments *cm);
