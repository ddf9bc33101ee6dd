/* SPDX-License-Identifier: MIT */
/* Capture of the frames that crossed the TAP: classic pcap (libpcap's
 * writer) or pcapng (our own writer, events as frame comments). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct capture;

/* The file format: classic pcap (nanosecond stamps) or pcapng. */
enum capture_format { CAPTURE_PCAP, CAPTURE_PCAPNG };
extern const char *const capture_format_names[CAPTURE_PCAPNG + 1];

/* Which way a frame crossed the TAP: into lwIP (pcapng "inbound") or out of
 * it (pcapng "outbound"). */
enum capture_dir { CAPTURE_IN, CAPTURE_OUT };

/* What a fault rule did to a frame, noted while the rules ran and turned
 * into the "fault" event once the frame has its number in the capture. */
#define CAPTURE_NOTE_ACTS 4
struct capture_act {
    unsigned rule;
    const char *what; /* "drop", "corrupt", ... (a string literal) */
    uint64_t match;   /* the how-manyeth frame the rule matched */
    char text[96];    /* the rule as written, for the frame's comment */
};

/* Travels with a frame from the fault injector to the capture. In: the
 * acts, whether the frame never reached the TAP (a tx frame a rule dropped:
 * pcapng only, marked dropped, counted nowhere), a copy's comment. Out
 * (set by capture_frame()): the frame's number in the current file and its
 * stamp. An all-zero note is a frame nothing happened to. */
struct capture_note {
    unsigned nacts;
    struct capture_act acts[CAPTURE_NOTE_ACTS];
    bool unsent;
    char comment[112]; /* pcapng: "duplicate made by fault rule 3", or "" */
    uint64_t frame;    /* out: 1, 2, ... in the current file; 0: not in it */
    uint64_t ts_ns;    /* out: the stamp it was written with */
};

/* Called around the writer lock (capture_set_guard()). */
typedef void (*capture_guard_cb)(void *arg);

void capture_set_guard(capture_guard_cb enter, capture_guard_cb leave, void *arg);

struct capture *capture_new(unsigned snaplen, const char *filter, char *errbuf, size_t errlen);
struct capture *capture_open(const char *path, unsigned snaplen, char *errbuf, size_t errlen);
void capture_set_format(struct capture *c, enum capture_format fmt);
void capture_set_rotation(struct capture *c, uint64_t bytes, unsigned count);
/* The longest file name a control client may choose (capture_start_at()). */
#define CAPTURE_NAME_MAX 128

int capture_start(struct capture *c, const char *path, char *errbuf, size_t errlen);
int capture_start_at(struct capture *c, int dirfd, const char *dir, const char *name, char *errbuf,
                     size_t errlen);
int capture_name_check(const char *name, char *errbuf, size_t errlen);
void capture_stop(struct capture *c);
int capture_rotate(struct capture *c);
void capture_frame(struct capture *c, enum capture_dir dir, const struct iovec *iov, int iovcnt,
                   size_t len, uint64_t ts_ns, struct capture_note *note);
void capture_note_add(struct capture_note *n, unsigned rule, const char *what, uint64_t match,
                      const char *text);
void capture_note_emit(struct capture_note *n, enum capture_dir dir);
void capture_flush(struct capture *c);
int capture_flush_wait(struct capture *c, unsigned wait_ms, pid_t *holder, uint64_t *frames);
pid_t capture_holder(const struct capture *c);
void capture_close(struct capture *c);
uint64_t capture_frames(const struct capture *c);
uint64_t capture_rotations(const struct capture *c);
bool capture_running(const struct capture *c);
const char *capture_path(const struct capture *c);
int capture_error(const struct capture *c);
