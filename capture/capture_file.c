/* SPDX-License-Identifier: MIT */
/* The capture's files: opening one (a path lwipd was given, or a name a
 * control client chose inside the capture directory), flushing and closing
 * it, shifting the files on a rotation, and giving one up when a write to
 * it fails (fail_locked()). Each *_locked function runs under the writer
 * lock.
 *
 * A name from the control socket comes from someone lwipd trusts less than
 * its own command line, and lwipd often runs as root. So such a name is one
 * plain file name (no '/', no leading '.', printable, short), opened with
 * openat() relative to the directory lwipd opened at start, with
 * O_NOFOLLOW (a symbolic link planted there is refused, never followed),
 * without O_TRUNC until the file proved to be a regular file with a single
 * link (a FIFO or device is refused without blocking, thanks to O_NONBLOCK,
 * and a hard link to a file elsewhere is not truncated), mode 0640. */
#define _GNU_SOURCE
#include "capture/capture.h"
#include "capture/capture_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/events.h"
#include "base/log.h"

/* 0 if NAME may be a capture file name sent over the control socket, else
 * -EINVAL with the reason in ERRBUF. */
int capture_name_check(const char *name, char *errbuf, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > CAPTURE_NAME_MAX) {
        snprintf(errbuf, errlen, "a file name needs 1 to %d characters", CAPTURE_NAME_MAX);
        return -EINVAL;
    }
    if (name[0] == '.' || strchr(name, '/')) {
        snprintf(errbuf, errlen,
                 "'%s' is not a plain file name (no '/', not starting with '.'): files go "
                 "into the capture directory",
                 name);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            snprintf(errbuf, errlen, "a file name has no control characters");
            return -EINVAL;
        }
    }
    return 0;
}

/* Open NAME in DIRFD for writing as the design note says: the descriptor,
 * or -errno with the reason in ERRBUF (PATH names the file in it). */
static int open_in_dir(int dirfd, const char *name, const char *path, char *errbuf, size_t errlen)
{
    struct stat st;
    int fd, err;

    /* The common cases, with a clear answer (the checks on the descriptor
     * below are the ones that hold if the file is swapped meanwhile). */
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(errbuf, errlen, "%s %s: refused", path,
                 S_ISLNK(st.st_mode) ? "is a symbolic link: not followed"
                                     : "exists and is not a regular file");
        return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
    }
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
    if (fd < 0) {
        err = -errno;
        if (err == -ELOOP)
            snprintf(errbuf, errlen, "%s is a symbolic link: not followed", path);
        else
            snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
        return err;
    }
    if (fstat(fd, &st) != 0) {
        err = -errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
        goto err;
    }
    if (!S_ISREG(st.st_mode)) {
        err = -EINVAL;
        snprintf(errbuf, errlen, "%s exists and is not a regular file: refused", path);
        goto err;
    }
    if (st.st_nlink != 1) {
        err = -EINVAL;
        snprintf(errbuf, errlen, "%s has other hard links: refused", path);
        goto err;
    }
    if (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, 0) != 0) {
        err = -errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
        goto err;
    }
    return fd;
err:
    close(fd);
    return err;
}

/* The capture file PATH (DIRFD < 0: a path lwipd was given, created or
 * truncated as any file), or NAME inside the directory DIRFD (see the
 * design note; PATH is then only its name in messages), opened for
 * writing. NULL with errno and ERRBUF set. */
static FILE *file_open(int dirfd, const char *name, const char *path, char *errbuf, size_t errlen)
{
    FILE *f;
    int fd;

    if (dirfd < 0) {
        f = fopen(path, "we");
        if (!f)
            snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return f;
    }
    fd = open_in_dir(dirfd, name, path, errbuf, errlen);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* Open c->path and write the file header (pcap's, or pcapng's section
 * header and interface description). 0 or -errno with ERRBUF set. */
int capture_file_open_locked(struct capture *c, char *errbuf, size_t errlen)
{
    uint8_t head[HEAD_MAX];
    size_t n;
    FILE *f;

    if (!c->iobuf && !(c->iobuf = malloc(CAPTURE_BUF))) {
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    f = file_open(c->dirfd, c->name, c->path, errbuf, errlen);
    if (!f)
        return -errno;
    setvbuf(f, c->iobuf, _IOFBF, CAPTURE_BUF);
    if (c->format == CAPTURE_PCAP) {
        c->dumper = pcap_dump_fopen(c->dead, f);
        if (!c->dumper) {
            snprintf(errbuf, errlen, "%s", pcap_geterr(c->dead));
            fclose(f);
            return -EIO;
        }
        n = PCAP_FILE_HDR;
    } else {
        n = pcapng_shb(head, sizeof(head));
        n += pcapng_idb(head + n, sizeof(head) - n, c->snaplen);
        fwrite(head, 1, n, f); /* into the buffer: cannot fail short */
    }
    c->file = f;
    c->file_bytes = n;
    c->file_frames = 0;
    c->buffered = n;
    return 0;
}

/* Close the current file as it is (nothing more is written to it). */
static void close_file(struct capture *c)
{
    if (c->dumper)
        pcap_dump_close(c->dumper); /* closes c->file too */
    else if (c->file)
        fclose(c->file);
    c->dumper = NULL;
    c->file = NULL;
}

/* Writing to the file failed with ERR (ENOSPC: the disk is full; EIO,
 * EDQUOT, EFBIG ...). The file is cut back to the last record that reached
 * it whole (a full disk may have taken part of a buffer) and closed, and
 * capturing stops, with a log line and a "capture-error" event: frames then
 * pass uncaptured, lwIP is not held up, and capture_start() may try again
 * once there is room. */
static void fail_locked(struct capture *c, int err)
{
    uint64_t kept = c->file_bytes - c->buffered; /* on disk at the last good flush */

    __fpurge(c->file); /* the unwritten rest: fclose() must not try it again */
    if (ftruncate(fileno(c->file), (off_t)kept) != 0) {
        /* the file keeps a partial record at its end: nothing better to do */
    }
    close_file(c);
    c->buffered = 0;
    atomic_store(&c->on, false);
    atomic_store(&c->error, err);
    log_err("capture",
            "%s: %s: capture stopped, the file keeps %llu bytes (start it again "
            "once there is room)",
            c->path, strerror(err), (unsigned long long)kept);
    events_emit("capture-error", "\"errno\":%d,\"error\":\"%s\",\"bytes\":%llu", err, strerror(err),
                (unsigned long long)kept);
}

/* Write what is buffered to the file. 0, or -errno after fail_locked(). */
int capture_file_flush_locked(struct capture *c)
{
    int err;

    if (!c->file)
        return 0;
    if (fflush(c->file) != 0) {
        err = errno ? errno : EIO;
        fail_locked(c, err);
        return -err;
    }
    c->buffered = 0;
    return 0;
}

/* Flush and close the current file, if any. 0, or -errno when the flush
 * failed (then capturing has stopped: fail_locked()). */
int capture_file_close_locked(struct capture *c)
{
    int ret = capture_file_flush_locked(c);

    close_file(c);
    return ret;
}

/* Make PATH (and NAME in DIRFD, NULL: none) the file to write; with PATH
 * NULL, keep the previous one. 0 or -errno with ERRBUF set. */
int capture_file_set_locked(struct capture *c, int dirfd, const char *name, const char *path,
                            char *errbuf, size_t errlen)
{
    char *p, *n = NULL;

    if (!path) {
        if (c->path)
            return 0;
        snprintf(errbuf, errlen, "no capture file given");
        return -EINVAL;
    }
    p = strdup(path);
    if (!p || (name && !(n = strdup(name)))) {
        free(p);
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    free(c->path);
    free(c->name);
    c->path = p;
    c->name = n;
    c->dirfd = name ? dirfd : -1;
    return 0;
}

/* FILE -> FILE.1 -> ... -> FILE.(count-1) (the oldest goes), new FILE. */
int capture_file_rotate_locked(struct capture *c)
{
    char err[256];
    int ret;

    if (!c->file)
        return 0;
    ret = capture_file_close_locked(c);
    if (ret != 0)
        return ret; /* stopped: fail_locked() said why */
    base_shift_files(c->dirfd < 0 ? AT_FDCWD : c->dirfd, c->dirfd < 0 ? c->path : c->name,
                     c->rotate_count);
    atomic_fetch_add(&c->rotations, 1);
    ret = capture_file_open_locked(c, err, sizeof(err));
    if (ret != 0) {
        atomic_store(&c->on, false); /* stopped: capture_start() may try again */
        log_err("capture", "rotation: %s", err);
    }
    return ret;
}
