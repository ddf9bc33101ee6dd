/* SPDX-License-Identifier: MIT */
/* pcap capture writer: pcap_open_dead() + pcap_dump(), nanosecond
 * timestamps, Ethernet link type. Frames come from the RX and DMA threads, so
 * one mutex serialises them; frames that span several pbufs are gathered
 * into a scratch buffer first (pcap_dump() wants one block). */
#define _GNU_SOURCE
#include "capture/capture.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAPTURE_SNAPLEN 262144

struct capture {
    pthread_mutex_t lock;
    pcap_t *dead;
    pcap_dumper_t *dumper;
    char *path;
    unsigned snaplen;
    atomic_uint_fast64_t frames;
    unsigned char scratch[CAPTURE_SNAPLEN];
};

/* Create (truncate) the pcap file PATH keeping at most SNAPLEN bytes of each
 * frame (0: all). Returns NULL with a reason in ERRBUF. */
struct capture *capture_open(const char *path, unsigned snaplen, char *errbuf, size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));

    if (!c) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->snaplen = snaplen == 0 || snaplen > CAPTURE_SNAPLEN ? CAPTURE_SNAPLEN : snaplen;
    c->path = strdup(path);
    c->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)c->snaplen,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (!c->path || !c->dead) {
        snprintf(errbuf, errlen, "out of memory");
        goto err;
    }
    c->dumper = pcap_dump_open(c->dead, path);
    if (!c->dumper) {
        snprintf(errbuf, errlen, "%s", pcap_geterr(c->dead));
        goto err;
    }
    return c;
err:
    capture_close(c);
    return NULL;
}

/* Append one frame of LEN bytes, given as IOV[IOVCNT], stamped now. */
void capture_frame(struct capture *c, const struct iovec *iov, int iovcnt, size_t len)
{
    struct pcap_pkthdr hdr;
    struct timespec ts;
    const unsigned char *data;

    clock_gettime(CLOCK_REALTIME, &ts);
    hdr.ts.tv_sec = ts.tv_sec;
    hdr.ts.tv_usec = ts.tv_nsec; /* nanosecond file: this field holds ns */
    hdr.len = (bpf_u_int32)len;
    hdr.caplen = (bpf_u_int32)(len < c->snaplen ? len : c->snaplen);
    pthread_mutex_lock(&c->lock);
    if (iovcnt == 1 || iov[0].iov_len >= hdr.caplen) {
        data = iov[0].iov_base;
    } else {
        size_t off = 0;
        for (int i = 0; i < iovcnt && off < hdr.caplen; i++) {
            size_t n = iov[i].iov_len;
            if (n > hdr.caplen - off)
                n = hdr.caplen - off;
            memcpy(c->scratch + off, iov[i].iov_base, n);
            off += n;
        }
        data = c->scratch;
    }
    pcap_dump((unsigned char *)c->dumper, &hdr, data);
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add_explicit(&c->frames, 1, memory_order_relaxed);
}

void capture_flush(struct capture *c)
{
    pthread_mutex_lock(&c->lock);
    pcap_dump_flush(c->dumper);
    pthread_mutex_unlock(&c->lock);
}

/* Flush unless another thread is inside the writer (crash path: never wait). */
void capture_flush_try(struct capture *c)
{
    if (pthread_mutex_trylock(&c->lock) != 0)
        return;
    pcap_dump_flush(c->dumper);
    pthread_mutex_unlock(&c->lock);
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    if (c->dumper)
        pcap_dump_close(c->dumper);
    if (c->dead)
        pcap_close(c->dead);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c);
}

uint64_t capture_frames(const struct capture *c)
{
    return atomic_load_explicit(&c->frames, memory_order_relaxed);
}

const char *capture_path(const struct capture *c)
{
    return c->path;
}
