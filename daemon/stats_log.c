/* SPDX-License-Identifier: MIT */
/* --stats-log FILE --stats-interval MS: every MS, one line
 *   {"api":1,"ts_ns":N,"seq":N,"stats":{...}}
 * where "stats" is exactly what the `stats` command answers (stats_json())
 * and ts_ns is on the capture's clock (CLOCK_REALTIME). A libevent timer on
 * the main loop writes it: building the document takes no lock of the tcpip
 * thread's beyond the short SYS_ARCH_PROTECT copy the stats command takes.
 * Each record goes out in one writev() on an O_APPEND descriptor, with no
 * buffering in between, so a crash loses no record written before it. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/stats_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/base.h"
#include "base/events.h"
#include "base/log.h"
#include "crash/fatal.h"
#include "daemon/daemon_priv.h"
#include "daemon/stats.h"

struct stats_log {
    struct daemon *d;
    char *path;
    int fd;
    uint64_t seq; /* of the last record written */
    struct event *timer;
};

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    return fd < 0 ? -errno : fd;
}

/* Write all of IOV (a short write to a regular file is rare but legal). 0
 * or -errno. */
static int writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Write one record now (the timer's, and the final one at shutdown). 0, or
 * -errno (logged; the next record is tried again at the next interval). */
int stats_log_write(struct stats_log *sl)
{
    char head[96];
    cJSON *stats;
    char *body;
    int r;

    if (!sl)
        return 0;
    stats = stats_json(sl->d);
    body = stats ? cJSON_PrintUnformatted(stats) : NULL;
    cJSON_Delete(stats);
    if (!body) {
        log_warn("stats", "--stats-log: out of memory, record skipped");
        return -ENOMEM;
    }
    /* ts_ns by hand: a JSON number through cJSON is a double, which cannot
     * hold today's nanoseconds exactly */
    int hn =
        snprintf(head, sizeof(head),
                 "{\"api\":%d,\"ts_ns\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"stats\":", EVENTS_API,
                 base_realtime_ns(), sl->seq + 1);
    struct iovec iov[3] = {
        {head, (size_t)hn},
        {body, strlen(body)},
        {(char *)"}\n", 2},
    };
    r = writev_all(sl->fd, iov, 3);
    free(body);
    if (r != 0) {
        log_warn("stats", "--stats-log %s: %s", sl->path, strerror(-r));
        return r;
    }
    sl->seq++;
    return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    if (fatal_happened())
        return; /* frozen threads may hold what the stats read */
    stats_log_write(arg);
}

/* Open PATH (appended to, created 0644) and write a record every
 * INTERVAL_MS from D's event loop, from its first turn on. NULL after
 * logging why (errno set: the file could not be opened, or no memory). */
struct stats_log *stats_log_new(struct daemon *d, const char *path, unsigned interval_ms)
{
    struct stats_log *sl = calloc(1, sizeof(*sl));
    struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
    int err = ENOMEM;

    if (!sl)
        goto fail;
    sl->fd = -1;
    sl->d = d;
    if (!(sl->path = strdup(path)))
        goto fail;
    sl->fd = open_file(path);
    if (sl->fd < 0) {
        err = -sl->fd;
        goto fail;
    }
    sl->timer = event_new(d->base, -1, EV_PERSIST, on_timer, sl);
    if (!sl->timer || event_add(sl->timer, &tv) != 0)
        goto fail;
    return sl;
fail:
    log_err("daemon", "--stats-log %s: %s", path, strerror(err));
    stats_log_free(sl);
    errno = err;
    return NULL;
}

/* SIGHUP: reopen the file by its name (after logrotate moved it). On
 * failure the old file is kept. 0 or -errno (logged). */
int stats_log_reopen(struct stats_log *sl)
{
    int fd;

    if (!sl)
        return 0;
    fd = open_file(sl->path);
    if (fd < 0) {
        log_err("daemon", "cannot reopen --stats-log %s: %s; still writing the old file", sl->path,
                strerror(-fd));
        return fd;
    }
    close(sl->fd);
    sl->fd = fd;
    return 0;
}

/* Stop the timer and close the file (write the final record first with
 * stats_log_write()). SL may be NULL or half made. */
void stats_log_free(struct stats_log *sl)
{
    if (!sl)
        return;
    if (sl->timer)
        event_free(sl->timer);
    if (sl->fd >= 0)
        close(sl->fd);
    free(sl->path);
    free(sl);
}
