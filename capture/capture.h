/* SPDX-License-Identifier: MIT */
/* pcap capture of the frames that crossed the TAP (libpcap writer). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct capture;

struct capture *capture_open(const char *path, unsigned snaplen, char *errbuf, size_t errlen);
void capture_frame(struct capture *c, const struct iovec *iov, int iovcnt, size_t len);
void capture_flush(struct capture *c);
void capture_flush_try(struct capture *c);
void capture_close(struct capture *c);
uint64_t capture_frames(const struct capture *c);
const char *capture_path(const struct capture *c);
