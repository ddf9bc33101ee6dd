/* SPDX-License-Identifier: MIT */
/* The capture's internals shared by capture.c (the writer), capture_pcapng.c
 * (pcapng block encoding) and capture_note.c (fault notes and events as
 * frame comments) and capture_file.c (opening and shifting the files). */
#pragma once

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/capture.h"

#define PCAPNG_COMMENTS    40  /* comments on one frame, at most */
#define PCAPNG_COMMENT_LEN 320 /* bytes of one comment, at most */

/* The comments a frame gets in a pcapng file. */
struct capture_comments {
    unsigned n;
    char text[PCAPNG_COMMENTS][PCAPNG_COMMENT_LEN];
};

#define CAPTURE_SNAPLEN 262144
#define PCAP_FILE_HDR   24
#define PCAP_REC_HDR    16
#define CAPTURE_BUF     (2 * CAPTURE_SNAPLEN) /* the stdio buffer: any record fits */
#define HEAD_MAX        128                   /* SHB + IDB */
#define TAIL_MAX        (3 + PCAPNG_COMMENTS * (4 + PCAPNG_COMMENT_LEN) + 32)

struct capture {
    pthread_mutex_t lock;
    atomic_int holder; /* kernel thread id inside the writer, 0: none */
    pcap_t *dead;
    enum capture_format format;
    FILE *file;            /* NULL while stopped, and inside a rotation */
    pcap_dumper_t *dumper; /* classic pcap: the libpcap writer on `file` */
    atomic_bool on;        /* between start and stop (or a failed rotation) */
    char *iobuf;           /* the dumper's stdio buffer, CAPTURE_BUF bytes */
    size_t buffered;       /* bytes in it since the last flush */
    char *path;            /* the file, as given or as DIR/NAME: in messages and stats */
    char *name;            /* with dirfd: the file's name in that directory */
    int dirfd;             /* the directory a control client's name is in; -1: path as given */
    atomic_int error;      /* the errno that stopped the capture, 0: none since the start */
    unsigned snaplen;
    bool has_filter;
    struct bpf_program filter;
    uint64_t rotate_bytes; /* 0: no rotation */
    unsigned rotate_count;
    uint64_t file_bytes;
    uint64_t file_frames; /* records in the current file (written or buffered) */
    uint64_t last_ts;     /* the stamp of the last frame written */
    uint64_t ev_next;     /* pcapng: the first event not yet on a frame */
    struct capture_comments comments;
    uint8_t tail[TAIL_MAX];
    atomic_uint_fast64_t frames;
    atomic_uint_fast64_t rotations;
    unsigned char scratch[CAPTURE_SNAPLEN];
};

/* capture_file.c: the file under the writer lock (c->lock held). */
int capture_file_set_locked(struct capture *c, int dirfd, const char *name, const char *path,
                            char *errbuf, size_t errlen);
int capture_file_open_locked(struct capture *c, char *errbuf, size_t errlen);
int capture_file_flush_locked(struct capture *c);
int capture_file_close_locked(struct capture *c);
int capture_file_rotate_locked(struct capture *c);

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
