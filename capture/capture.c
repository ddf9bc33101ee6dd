/* SPDX-License-Identifier: MIT */
/* Capture writer: classic pcap through libpcap (pcap_open_dead() +
 * pcap_dump()), or pcapng written here (capture_pcapng.c: events and fault
 * notes as frame comments, capture_note.c); nanosecond timestamps, Ethernet
 * link type. Frames come from the RX, DMA and delay-line threads, so
 * one mutex serialises them; frames that span several pbufs are gathered
 * into a scratch buffer first (pcap_dump() wants one block). A BPF filter
 * picks what is kept; files rotate by size (FILE, FILE.1, ... FILE.N-1);
 * capturing can be stopped and started again at run time.
 *
 * No frame is lost to a rotation (SIGHUP, size): the writer closes the old
 * file and opens the new one under the lock, and a frame arriving meanwhile
 * waits for the lock. The lock-free peek that lets frames pass cheaply
 * while capturing is stopped reads `on`, which only start and stop change,
 * never the file, which is NULL for the moment a rotation swaps files.
 *
 * A write that fails (the disk is full) stops the capture: the file is cut
 * back to its last whole record, a "capture-error" event and a log line say
 * why, frames pass uncaptured (lwIP never waits for the disk), and
 * capture_start() may begin again (capture_file.c, which also opens the
 * files, a control client's name never following a symbolic link).
 *
 * The file always ends at a record boundary on disk: the stdio buffer is
 * ours and big enough for any record, and it is flushed before a record
 * that would not fit, so stdio never writes half a record. A SIGKILL thus
 * leaves a file tcpdump reads completely, up to the last flush (the daemon
 * flushes every 100 ms).
 *
 * After a fatal incident the crash reporter flushes the file while the other
 * threads are frozen (capture_flush_wait()). It can, because no thread is
 * frozen holding the writer lock: every locked stretch runs between the
 * guard's enter and leave (capture_set_guard(); the daemon installs
 * the crash reporter's fatal_defer_begin/end, which postpone a freeze to the
 * leave). The lock records its holder, so when it is held all the same (by
 * the thread that hit the incident, or by one frozen inside an ISR that
 * interrupted the writer) the reporter knows by whom and need not wait.
 *
 * Frames are in time order: a frame is stamped here, under the lock, as it
 * is written (an rx frame once read, a tx frame just before the driver
 * writes it to the TAP), so the order of the file is the order of the
 * stamps and a reply never precedes its request. The one stamp given from
 * outside, a duplicate's (its original's), is never earlier than the last
 * one written; a stamp that would be (the realtime clock stepped back) is
 * raised to it. */
#define _GNU_SOURCE
#include "capture/capture.h"
#include "capture/capture_priv.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/events.h"
#include "base/log.h"

const char *const capture_format_names[CAPTURE_PCAPNG + 1] = {
    [CAPTURE_PCAP] = "pcap",
    [CAPTURE_PCAPNG] = "pcapng",
};

/* Process-wide: what a thread does around the writer lock (set once at
 * start-up, before any frame). */
static struct {
    capture_guard_cb enter;
    capture_guard_cb leave;
    void *arg;
} guard;

/* Call ENTER(ARG) before every writer lock is taken and LEAVE(ARG) after it
 * is given back, in the thread that takes it (NULL: nothing). The daemon
 * passes the crash reporter's fatal_defer_begin/end, so that no thread is
 * frozen inside the writer. Set it before any capture writes frames. */
void capture_set_guard(capture_guard_cb enter, capture_guard_cb leave, void *arg)
{
    guard.arg = arg;
    guard.enter = enter;
    guard.leave = leave;
}

static void writer_lock(struct capture *c)
{
    if (guard.enter)
        guard.enter(guard.arg);
    pthread_mutex_lock(&c->lock);
    atomic_store_explicit(&c->holder, base_gettid(), memory_order_relaxed);
}

static void writer_unlock(struct capture *c)
{
    atomic_store_explicit(&c->holder, 0, memory_order_relaxed);
    pthread_mutex_unlock(&c->lock);
    if (guard.leave)
        guard.leave(guard.arg);
}

/* A capture writer keeping at most SNAPLEN bytes per frame (0: all) and,
 * with FILTER (a libpcap expression, NULL: all), only matching frames.
 * Nothing is written until capture_start(). NULL with a reason in ERRBUF
 * and errno ENOMEM (out of memory) or EINVAL (a bad filter). */
struct capture *capture_new(unsigned snaplen, const char *filter, char *errbuf, size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));
    int why = ENOMEM;

    if (!c) {
        snprintf(errbuf, errlen, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->dirfd = -1;
    c->snaplen = snaplen == 0 || snaplen > CAPTURE_SNAPLEN ? CAPTURE_SNAPLEN : snaplen;
    c->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)c->snaplen,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (!c->dead) {
        snprintf(errbuf, errlen, "out of memory");
        goto err;
    }
    if (filter && *filter) {
        if (pcap_compile(c->dead, &c->filter, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(errbuf, errlen, "bad filter \"%s\": %s", filter, pcap_geterr(c->dead));
            why = EINVAL;
            goto err;
        }
        c->has_filter = true;
    }
    return c;
err:
    capture_close(c);
    errno = why;
    return NULL;
}

/* Rotate when a file passes BYTES (0: never), keeping COUNT files. */
void capture_set_rotation(struct capture *c, uint64_t bytes, unsigned count)
{
    writer_lock(c);
    c->rotate_bytes = bytes;
    c->rotate_count = count < 1 ? 1 : count;
    writer_unlock(c);
}

/* Write the file's format: classic pcap (the default) or pcapng. Takes
 * effect with the next file (start or rotation). */
void capture_set_format(struct capture *c, enum capture_format fmt)
{
    writer_lock(c);
    c->format = fmt;
    writer_unlock(c);
}

/* capture_start() and capture_start_at(): open the file and start. */
static int start(struct capture *c, int dirfd, const char *name, const char *path, char *errbuf,
                 size_t errlen)
{
    int ret;

    writer_lock(c);
    if (c->file) {
        snprintf(errbuf, errlen, "already capturing to %s", c->path);
        ret = -EALREADY;
        goto out;
    }
    ret = capture_file_set_locked(c, dirfd, name, path, errbuf, errlen);
    if (ret == 0)
        ret = capture_file_open_locked(c, errbuf, errlen);
    if (ret == 0) {
        atomic_store(&c->error, 0);
        atomic_store(&c->on, true);
    }
out:
    writer_unlock(c);
    return ret;
}

/* Start writing to PATH (created or truncated, as any file lwipd is given
 * on its command line; NULL: the previous file). 0, -EALREADY if running,
 * or -errno with ERRBUF set. */
int capture_start(struct capture *c, const char *path, char *errbuf, size_t errlen)
{
    return start(c, -1, NULL, path, errbuf, errlen);
}

/* Start writing to the file NAME, a name a control client chose, in the
 * directory DIRFD (DIR: its path, for messages; the caller keeps DIRFD open
 * while the capture may use it). NAME must pass capture_name_check(); it is
 * opened without following a symbolic link, refused unless a regular file
 * with one link, then truncated (capture_file.c). Rotations stay in DIRFD.
 * 0, -EALREADY if running, or -errno with ERRBUF set. */
int capture_start_at(struct capture *c, int dirfd, const char *dir, const char *name, char *errbuf,
                     size_t errlen)
{
    char path[4096];
    int ret = capture_name_check(name, errbuf, errlen);

    if (ret != 0)
        return ret;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return start(c, dirfd, name, path, errbuf, errlen);
}

/* Flush and close the file; frames are ignored until capture_start(). */
void capture_stop(struct capture *c)
{
    writer_lock(c);
    atomic_store(&c->on, false);
    capture_file_close_locked(c); /* a failed flush is logged there */
    writer_unlock(c);
}

int capture_rotate(struct capture *c)
{
    int ret;

    writer_lock(c);
    if (c->rotate_count < 2)
        c->rotate_count = 2;
    ret = capture_file_rotate_locked(c);
    writer_unlock(c);
    return ret;
}

/* The frame's bytes, contiguous: IOV's first block, or a copy of the first
 * CAPLEN bytes in the scratch buffer. */
static const unsigned char *gather(struct capture *c, const struct iovec *iov, int iovcnt,
                                   size_t caplen)
{
    size_t off = 0;

    if (iovcnt == 1 || iov[0].iov_len >= caplen)
        return iov[0].iov_base;
    for (int i = 0; i < iovcnt && off < caplen; i++) {
        size_t n = iov[i].iov_len;
        if (n > caplen - off)
            n = caplen - off;
        memcpy(c->scratch + off, iov[i].iov_base, n);
        off += n;
    }
    return c->scratch;
}

/* Make room in the buffer for a record of CAPLEN bytes of frame and any
 * comments, flushing it when that might not fit: only whole records reach
 * the file. 0, or -errno when the flush failed (capturing has stopped). */
static int make_room_locked(struct capture *c, size_t caplen)
{
    size_t most = c->format == CAPTURE_PCAP ? PCAP_REC_HDR + caplen
                                            : pcapng_epb_size(caplen, NULL) + TAIL_MAX;

    return c->buffered + most > CAPTURE_BUF ? capture_file_flush_locked(c) : 0;
}

/* Append one record (HDR, DATA) in the file's format, with the comments in
 * c->comments (pcapng), to the buffer, which has room (make_room_locked()). */
static void write_record(struct capture *c, const struct pcap_pkthdr *hdr,
                         const unsigned char *data, uint64_t ts_ns, enum capture_dir dir)
{
    size_t size = c->format == CAPTURE_PCAP ? PCAP_REC_HDR + hdr->caplen
                                            : pcapng_epb_size(hdr->caplen, &c->comments);
    uint8_t head[28];
    size_t n;

    if (c->format == CAPTURE_PCAP) {
        pcap_dump((unsigned char *)c->dumper, hdr, data);
    } else {
        pcapng_epb_head(head, size, ts_ns, hdr->caplen, hdr->len);
        n = pcapng_epb_tail(c->tail, sizeof(c->tail), size, hdr->caplen, dir, &c->comments);
        fwrite(head, 1, sizeof(head), c->file);
        fwrite(data, 1, hdr->caplen, c->file);
        fwrite(c->tail, 1, n, c->file);
    }
    c->buffered += size;
    c->file_bytes += size;
}

/* Append one frame of LEN bytes that went in direction DIR, given as
 * IOV[IOVCNT], stamped now (TS_NS 0) or TS_NS (base_realtime_ns() clock; a
 * duplicate's stamp: its original's), never earlier than the last frame.
 * NOTE (may be NULL) carries what fault rules did to it: their events are
 * recorded here, with the frame's number and stamp, and in pcapng they are
 * comments on it, as are the events recorded since the last frame. On
 * return NOTE->frame is the frame's number in the current file (0: not
 * written: not capturing, filtered out, or an unsent frame in classic
 * pcap) and NOTE->ts_ns its stamp. C may be NULL (no capture at all). */
void capture_frame(struct capture *c, enum capture_dir dir, const struct iovec *iov, int iovcnt,
                   size_t len, uint64_t ts_ns, struct capture_note *note)
{
    struct pcap_pkthdr hdr;
    const unsigned char *data;
    bool ng;

    if (note)
        note->frame = 0;
    /* Lock-free peek at `on`, not at the file (NULL inside a rotation,
     * when this frame must wait for the lock, not be skipped). */
    if (!c || !atomic_load_explicit(&c->on, memory_order_relaxed))
        goto unwritten;
    hdr.len = (bpf_u_int32)len;
    hdr.caplen = (bpf_u_int32)(len < c->snaplen ? len : c->snaplen);
    writer_lock(c);
    ng = c->format == CAPTURE_PCAPNG;
    if (!c->file || (note && note->unsent && !ng))
        goto unlock;
    data = gather(c, iov, iovcnt, hdr.caplen);
    if (c->has_filter && !pcap_offline_filter(&c->filter, &hdr, data))
        goto unlock;
    if (!ts_ns)
        ts_ns = base_realtime_ns();
    if (ts_ns < c->last_ts)
        ts_ns = c->last_ts;
    hdr.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
    hdr.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000u); /* a nanosecond file: ns here */
    /* rotate on the size without comments: they may take the file a little
     * past the limit */
    if (c->rotate_bytes && c->file_frames > 0 &&
        c->file_bytes + (ng ? pcapng_epb_size(hdr.caplen, NULL) : PCAP_REC_HDR + hdr.caplen) >
            c->rotate_bytes)
        capture_file_rotate_locked(c);
    if (!c->file || make_room_locked(c, hdr.caplen) != 0)
        goto unlock;
    c->comments.n = 0;
    if (ng)
        c->ev_next = capture_events_attach(&c->comments, c->ev_next);
    if (note) {
        note->frame = c->file_frames + 1;
        note->ts_ns = ts_ns;
        capture_note_events(note, dir, ng ? &c->comments : NULL);
    }
    write_record(c, &hdr, data, ts_ns, dir);
    c->last_ts = ts_ns;
    c->file_frames++;
    if (!note || !note->unsent)
        atomic_fetch_add_explicit(&c->frames, 1, memory_order_relaxed);
    writer_unlock(c);
    return;
unlock:
    writer_unlock(c);
unwritten:
    if (note) {
        note->ts_ns = ts_ns ? ts_ns : base_realtime_ns();
        capture_note_emit(note, dir);
    }
}

/* Write what is buffered to the file (the daemon's 100 ms timer). A write
 * that fails stops the capture (see fail_locked()). */
void capture_flush(struct capture *c)
{
    writer_lock(c);
    capture_file_flush_locked(c);
    writer_unlock(c);
}

/* The thread inside the writer (kernel thread id), 0 if none. A snapshot:
 * exact only while that thread cannot move (frozen, or the caller). */
pid_t capture_holder(const struct capture *c)
{
    return atomic_load_explicit(&c->holder, memory_order_relaxed);
}

/* The crash path's flush (the reporter thread; the guard is not used):
 * waits at most WAIT_MS for the writer lock, because a thread stopped
 * inside the writer never lets go. Returns 0 when every frame the writer
 * had taken is in the file, with *FRAMES the records the current file now
 * holds; -ETIMEDOUT when the lock stayed held (*HOLDER: by which thread,
 * 0 if unknown); -ENOTCONN when not capturing; -EIO when the write failed.
 * FRAMES and HOLDER may be NULL. */
int capture_flush_wait(struct capture *c, unsigned wait_ms, pid_t *holder, uint64_t *frames)
{
    struct timespec until;
    int ret;

    if (holder)
        *holder = 0;
    base_deadline_after_ms(&until, CLOCK_MONOTONIC, wait_ms);
    ret = pthread_mutex_clocklock(&c->lock, CLOCK_MONOTONIC, &until);
    if (ret != 0) {
        if (holder)
            *holder = capture_holder(c);
        return -ret;
    }
    if (!c->file) {
        ret = -ENOTCONN;
    } else if (fflush(c->file) != 0) {
        ret = -EIO;
    } else {
        c->buffered = 0;
        if (frames)
            *frames = c->file_frames;
    }
    pthread_mutex_unlock(&c->lock);
    return ret;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    capture_file_close_locked(c);
    if (c->has_filter)
        pcap_freecode(&c->filter);
    if (c->dead)
        pcap_close(c->dead);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c->name);
    free(c->iobuf); /* after the dumper's FILE is closed */
    free(c);
}

/* Open PATH and start at once (the --pcap case). */
struct capture *capture_open(const char *path, unsigned snaplen, char *errbuf, size_t errlen)
{
    struct capture *c = capture_new(snaplen, NULL, errbuf, errlen);

    if (c && capture_start(c, path, errbuf, errlen) != 0) {
        capture_close(c);
        return NULL;
    }
    return c;
}

uint64_t capture_frames(const struct capture *c)
{
    return atomic_load_explicit(&c->frames, memory_order_relaxed);
}

uint64_t capture_rotations(const struct capture *c)
{
    return atomic_load_explicit(&c->rotations, memory_order_relaxed);
}

bool capture_running(const struct capture *c)
{
    return atomic_load(&c->on);
}

const char *capture_path(const struct capture *c)
{
    return c->path ? c->path : "";
}

/* The errno of the write that stopped the capture (fail_locked()), 0 if
 * none did since it last started. */
int capture_error(const struct capture *c)
{
    return atomic_load(&c->error);
}
