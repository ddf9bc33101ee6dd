/* SPDX-License-Identifier: MIT */
/* Events ring and JSON-lines log.
 *
 * Design note
 * -----------
 * Events come from every thread, including emulated ISRs, so recording one
 * takes no lock and allocates nothing: a slot is claimed with an atomic
 * fetch-and-add on the sequence counter, filled, and published by storing
 * its sequence number last (release). Readers (the file writer on the main
 * loop, the crash reporter) take a slot only if its sequence number is the
 * one they expect, so a slot being rewritten is skipped, never half-read.
 * The ring keeps the last EVENTS_RING events for crash reports; the file
 * writer drains it often enough (events_flush() from a timer) that nothing
 * is lost unless more than EVENTS_RING events happen between two flushes,
 * which is counted and logged as a gap.
 *
 * The file rotates by size (events_set_rotation(): FILE, FILE.1, ... as the
 * capture's) and on SIGHUP (events_reopen()). The writer checks the size
 * before each line, so a line lands whole in exactly one file, and a file
 * passes the limit only when one line alone is longer.
 */
#define _GNU_SOURCE
#include "base/events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"

#define EVENTS_RING 16384 /* power of two; ~4 MB */

struct slot {
    _Atomic uint64_t seq;
    struct events_record rec;
};

static struct {
    struct slot ring[EVENTS_RING];
    _Atomic uint64_t next; /* last sequence number handed out */
    pthread_mutex_t file_lock;
    int fd;
    char *path;            /* the file's name, for rotations and reopening */
    uint64_t size;         /* bytes in the current file */
    uint64_t rotate_bytes; /* 0: no rotation by size */
    unsigned rotate_count;
    uint64_t written; /* last sequence number written to the file */
    uint64_t lost;
} ev = {.fd = -1, .file_lock = PTHREAD_MUTEX_INITIALIZER};

void events_init(void)
{
    atomic_store(&ev.next, 0);
    ev.written = 0;
}

/* Open ev.path (appending; FLAGS: O_TRUNC for a new file after a
 * rotation) as the file. 0 or -errno (then no file: events stay in the
 * ring only). Called with file_lock held. */
static int open_locked(int flags)
{
    struct stat st;
    int fd = open(ev.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0644);

    if (ev.fd >= 0)
        close(ev.fd);
    ev.fd = fd;
    if (fd < 0)
        return -errno;
    ev.size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

/* Also write every event to PATH (JSON lines, appended). 0 or -errno. */
int events_open(const char *path)
{
    char *p = strdup(path);
    int ret;

    if (!p)
        return -ENOMEM;
    pthread_mutex_lock(&ev.file_lock);
    free(ev.path);
    ev.path = p;
    ret = open_locked(0);
    pthread_mutex_unlock(&ev.file_lock);
    return ret;
}

/* Start a new file once the current one would pass BYTES (0: never),
 * keeping COUNT files: FILE, FILE.1, ... FILE.(COUNT-1). */
void events_set_rotation(uint64_t bytes, unsigned count)
{
    pthread_mutex_lock(&ev.file_lock);
    ev.rotate_bytes = bytes;
    ev.rotate_count = count < 1 ? 1 : count;
    pthread_mutex_unlock(&ev.file_lock);
}

/* FILE -> FILE.1 ..., a new FILE. Called with file_lock held. */
static int rotate_locked(void)
{
    int ret;

    base_shift_files(AT_FDCWD, ev.path, ev.rotate_count);
    ret = open_locked(O_TRUNC);
    if (ret != 0)
        log_err("events", "%s: %s: events go on in memory only", ev.path, strerror(-ret));
    return ret;
}

/* SIGHUP: with a rotation set, start a new file now (as the capture);
 * else reopen the file by its name (after logrotate moved it). What was
 * recorded before is written to the old file first. 0, -ENOENT without a
 * file, or -errno. */
int events_reopen(void)
{
    int ret = -ENOENT;

    events_flush();
    pthread_mutex_lock(&ev.file_lock);
    if (ev.path)
        ret = ev.rotate_bytes ? rotate_locked() : open_locked(0);
    pthread_mutex_unlock(&ev.file_lock);
    return ret;
}

void events_close(void)
{
    events_flush();
    pthread_mutex_lock(&ev.file_lock);
    if (ev.fd >= 0)
        close(ev.fd);
    ev.fd = -1;
    free(ev.path);
    ev.path = NULL;
    pthread_mutex_unlock(&ev.file_lock);
}

static size_t copy_str(char *dst, const char *src, size_t n)
{
    size_t i = 0;

    for (; src && src[i] && i + 1 < n; i++)
        dst[i] = src[i];
    dst[i] = '\0';
    return i;
}

static struct slot *claim(uint64_t *seq)
{
    struct slot *s;

    *seq = atomic_fetch_add(&ev.next, 1) + 1;
    s = &ev.ring[*seq & (EVENTS_RING - 1)];
    atomic_store_explicit(&s->seq, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->rec.ts_ns = base_realtime_ns();
    return s;
}

static void publish(struct slot *s, uint64_t seq)
{
    s->rec.seq = seq;
    atomic_store_explicit(&s->seq, seq, memory_order_release);
}

/* Record an event of TYPE whose TEXT is ready-made JSON members. No lock, no
 * allocation: usable from an ISR. Returns its sequence number. */
uint64_t events_emit_raw(const char *type, const char *text)
{
    uint64_t seq;
    struct slot *s = claim(&seq);

    copy_str(s->rec.type, type, sizeof(s->rec.type));
    copy_str(s->rec.text, text, sizeof(s->rec.text));
    publish(s, seq);
    return seq;
}

/* Record an event; FMT formats JSON members (no braces). Not for ISRs. */
uint64_t events_emit(const char *type, const char *fmt, ...)
{
    uint64_t seq;
    struct slot *s = claim(&seq);
    va_list ap;

    copy_str(s->rec.type, type, sizeof(s->rec.type));
    va_start(ap, fmt);
    vsnprintf(s->rec.text, sizeof(s->rec.text), fmt, ap);
    va_end(ap);
    publish(s, seq);
    return seq;
}

/* Read the slot for SEQ if it still holds that event: 0, or -EAGAIN when
 * it is being rewritten or holds another one. */
static int read_slot(uint64_t seq, struct events_record *out)
{
    struct slot *s = &ev.ring[seq & (EVENTS_RING - 1)];

    if (atomic_load_explicit(&s->seq, memory_order_acquire) != seq)
        return -EAGAIN;
    *out = s->rec;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == seq ? 0 : -EAGAIN;
}

/* One JSON line (no newline) for R. Returns its length. */
int events_format(const struct events_record *r, char *buf, size_t len)
{
    return snprintf(buf, len, "{\"api\":%d,\"seq\":%llu,\"ts_ns\":%llu,\"type\":\"%s\"%s%s}",
                    EVENTS_API, (unsigned long long)r->seq, (unsigned long long)r->ts_ns, r->type,
                    r->text[0] ? "," : "", r->text);
}

static void flush_locked(void);

/* Append the line LINE (N bytes, its newline included) to the file, first
 * starting a new file if it would take the current one past the limit
 * (unless that one is empty). 0, or -errno with nothing of LINE in the
 * file. Called with file_lock held. */
static int write_line_locked(const char *line, size_t n)
{
    ssize_t w;

    if (ev.rotate_bytes && ev.size > 0 && ev.size + n > ev.rotate_bytes && rotate_locked() != 0)
        return -EIO;
    w = write(ev.fd, line, n);
    if (w < 0)
        return -errno;
    if ((size_t)w < n) {
        /* the disk is full: take the part back from the end (appended
         * there), the line is tried again at the next flush */
        struct stat st;

        if (fstat(ev.fd, &st) != 0 || ftruncate(ev.fd, st.st_size - (off_t)w) != 0) {
            /* nothing better to do */
        }
        return -ENOSPC;
    }
    ev.size += (uint64_t)w;
    return 0;
}

/* Write the events recorded since the last flush to the file (if any). */
void events_flush(void)
{
    pthread_mutex_lock(&ev.file_lock);
    flush_locked();
}

/* The same, unless another thread is writing (crash path: never wait). */
void events_flush_try(void)
{
    if (pthread_mutex_trylock(&ev.file_lock) == 0)
        flush_locked();
}

/* Called with file_lock held; releases it. */
static void flush_locked(void)
{
    uint64_t last = atomic_load(&ev.next);
    char line[EVENTS_TEXT_LEN + 128];

    if (ev.fd < 0) {
        ev.written = last;
        goto out;
    }
    if (last - ev.written > EVENTS_RING) {
        uint64_t gap = last - ev.written - EVENTS_RING;
        int n =
            snprintf(line, sizeof(line), "{\"api\":%d,\"type\":\"events-lost\",\"count\":%llu}\n",
                     EVENTS_API, (unsigned long long)gap);
        if (write_line_locked(line, (size_t)n) != 0) {
            /* nothing better to do */
        }
        ev.lost += gap;
        ev.written = last - EVENTS_RING;
    }
    while (ev.written < last) {
        struct events_record r;
        uint64_t seq = ev.written + 1;

        if (read_slot(seq, &r) != 0) {
            /* still being written: try again at the next flush */
            break;
        }
        int n = events_format(&r, line, sizeof(line) - 1);
        if (n > (int)sizeof(line) - 2)
            n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        if (write_line_locked(line, (size_t)n) != 0)
            break;
        ev.written = seq;
    }
out:
    pthread_mutex_unlock(&ev.file_lock);
}

/* Copy up to MAX of the most recent events, oldest first. Lock-free. */
size_t events_recent(struct events_record *out, size_t max)
{
    uint64_t last = atomic_load(&ev.next);
    uint64_t first = last > max ? last - max + 1 : 1;
    size_t n = 0;

    if (max > EVENTS_RING)
        first = last > EVENTS_RING ? last - EVENTS_RING + 1 : 1;
    for (uint64_t seq = first; seq <= last && n < max; seq++) {
        if (read_slot(seq, &out[n]) == 0)
            n++;
    }
    return n;
}

uint64_t events_count(void)
{
    return atomic_load(&ev.next);
}

/* Copy the event SEQ into *OUT if the ring still holds it. Lock-free. 0, or
 * -EAGAIN when it is being written (try again later) or was overwritten
 * (events_count() - SEQ >= the ring's size: it is lost). */
int events_get(uint64_t seq, struct events_record *out)
{
    return read_slot(seq, out);
}

/* How many events the ring holds: an older one is overwritten. */
size_t events_ring_size(void)
{
    return EVENTS_RING;
}
