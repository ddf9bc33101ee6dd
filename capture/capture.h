/* SPDX-License-Identifier: MIT */
/* pcap capture of the frames that crossed the TAP (libpcap writer). */
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

/* Called around the writer lock (capture_set_guard()). */
typedef void (*capture_guard_cb)(void *arg);

void capture_set_guard(capture_guard_cb enter, capture_guard_cb leave, void *arg);

struct capture *capture_new(unsigned snaplen, const char *filter, char *errbuf, size_t errlen);
struct capture *capture_open(const char *path, unsigned snaplen, char *errbuf, size_t errlen);
void capture_set_rotation(struct capture *c, uint64_t bytes, unsigned count);
int capture_start(struct capture *c, const char *path, char *errbuf, size_t errlen);
void capture_stop(struct capture *c);
int capture_rotate(struct capture *c);
void capture_frame(struct capture *c, const struct iovec *iov, int iovcnt, size_t len,
                   uint64_t ts_ns);
void capture_flush(struct capture *c);
int capture_flush_wait(struct capture *c, unsigned wait_ms, pid_t *holder, uint64_t *frames);
pid_t capture_holder(const struct capture *c);
void capture_close(struct capture *c);
uint64_t capture_frames(const struct capture *c);
uint64_t capture_rotations(const struct capture *c);
bool capture_running(const struct capture *c);
const char *capture_path(const struct capture *c);
