/* SPDX-License-Identifier: MIT */
/* Logger: one line per message, written with a single write() so lines from
 * different threads never interleave. Under systemd (JOURNAL_STREAM matches
 * stderr) lines carry sd-daemon "<N>" priority prefixes instead of a
 * timestamp, which journald stores as the priority.
 *
 * Not for signal handlers: they use the crash reporter's write()-only reporter,
 * which reaches the log file through log_write_safe(): the same line built
 * from integers by hand, because a thread frozen by the reporter may hold
 * any lock, glibc's time zone lock (gmtime_r) included.
 */
#define _GNU_SOURCE
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/names.h"

int log_level_current = LOG_INFO;

static struct {
    const char *ident;
    int fd;       /* stderr, or the --log-file */
    bool journal; /* stderr is connected to journald */
} state = {"lwipd", STDERR_FILENO, false};

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg",  [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
    [LOG_WARNING] = "warn", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long dev, ino;
    struct stat st;

    if (!js || sscanf(js, "%lu:%lu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* Set the identity and threshold. Returns 0. */
int log_init(const char *ident, int level)
{
    state.ident = ident;
    log_level_current = level;
    state.journal = stderr_is_journal();
    return 0;
}

/* Send log lines to PATH (appended) instead of stderr. Returns 0 or -errno;
 * on error the previous destination stays. */
int log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

    if (fd < 0)
        return -errno;
    if (state.fd != STDERR_FILENO)
        close(state.fd);
    state.fd = fd;
    state.journal = false;
    return 0;
}

/* Parse "err", "warn", "info", "debug" (or a syslog number). 0 or -EINVAL. */
int log_level_parse(const char *name, int *level)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    if (strcasecmp(name, "error") == 0 || strcasecmp(name, "warning") == 0) {
        *level = name[0] == 'e' || name[0] == 'E' ? LOG_ERR : LOG_WARNING;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(int level)
{
    return level >= 0 ? names_get(level_names, NAMES_COUNT(level_names), (unsigned)level) : "?";
}

void log_msg(int level, const char *group, const char *fmt, ...)
{
    char line[2048];
    size_t n = 0;
    va_list ap;
    int saved_errno = errno;

    if (state.journal) {
        n = (size_t)snprintf(line, sizeof(line), "<%d>[%s] ", level, group);
    } else {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%d] %-5s [%s] ",
                              ts.tv_nsec / 1000000, state.ident, (int)getpid(),
                              log_level_name(level), group);
    }
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += (size_t)m;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    while (n > 0 && line[n - 1] == '\n')
        n--;
    line[n++] = '\n';
    if (write(state.fd, line, n) < 0) {
        /* nowhere left to report it */
    }
    errno = saved_errno;
}

/* Days since 1970-01-01 of the civil date Y-M-D (proleptic Gregorian;
 * H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t)doe - 719468;
}

/* gmtime_r() without glibc's time zone lock (which a frozen thread may
 * hold): SECS since the epoch as UTC broken-down time. Async-signal-safe. */
void log_utc_time(time_t secs, struct tm *tm)
{
    int64_t days = (int64_t)secs / 86400;
    int64_t rem = (int64_t)secs % 86400;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

    memset(tm, 0, sizeof(*tm));
    tm->tm_year = (int)(y - 1900);
    tm->tm_mon = (int)m - 1;
    tm->tm_mday = (int)d;
    tm->tm_hour = (int)(rem / 3600);
    tm->tm_min = (int)(rem % 3600 / 60);
    tm->tm_sec = (int)(rem % 60);
    tm->tm_wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    tm->tm_yday = (int)(days - days_from_civil(y, 1, 1));
    tm->tm_zone = "UTC";
}

struct safe_line {
    char buf[1024];
    size_t n;
};

static void put_str(struct safe_line *l, const char *s)
{
    while (s && *s && l->n < sizeof(l->buf) - 1)
        l->buf[l->n++] = *s++;
}

/* V in decimal, zero-padded to WIDTH digits. */
static void put_num(struct safe_line *l, uint64_t v, int width)
{
    char digits[24];
    int i = 0;

    do {
        digits[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i < (int)sizeof(digits));
    while (i < width && i < (int)sizeof(digits))
        digits[i++] = '0';
    while (i > 0 && l->n < sizeof(l->buf) - 1)
        l->buf[l->n++] = digits[--i];
}

/* Log TEXT as log_msg() would, with the same prefix, using only
 * clock_gettime(), getpid() and one write(): for the fatal path, where a
 * frozen thread may hold stdio's, malloc's or the time zone's lock. Lines
 * longer than 1 KiB are cut. Nothing below the level threshold. */
void log_write_safe(int level, const char *group, const char *text)
{
    struct safe_line l = {.n = 0};
    int saved_errno = errno;

    if (level > log_level_current)
        return;
    if (state.journal) {
        put_str(&l, "<");
        put_num(&l, (uint64_t)level, 1);
        put_str(&l, ">[");
    } else {
        struct timespec ts;
        struct tm tm;
        const char *name = log_level_name(level);

        clock_gettime(CLOCK_REALTIME, &ts);
        log_utc_time(ts.tv_sec, &tm);
        put_num(&l, (uint64_t)tm.tm_year + 1900, 4);
        put_str(&l, "-");
        put_num(&l, (uint64_t)tm.tm_mon + 1, 2);
        put_str(&l, "-");
        put_num(&l, (uint64_t)tm.tm_mday, 2);
        put_str(&l, "T");
        put_num(&l, (uint64_t)tm.tm_hour, 2);
        put_str(&l, ":");
        put_num(&l, (uint64_t)tm.tm_min, 2);
        put_str(&l, ":");
        put_num(&l, (uint64_t)tm.tm_sec, 2);
        put_str(&l, ".");
        put_num(&l, (uint64_t)ts.tv_nsec / 1000000, 3);
        put_str(&l, "Z ");
        put_str(&l, state.ident);
        put_str(&l, "[");
        put_num(&l, (uint64_t)getpid(), 1);
        put_str(&l, "] ");
        put_str(&l, name);
        for (size_t i = strlen(name); i < 5; i++) /* "%-5s" */
            put_str(&l, " ");
        put_str(&l, " [");
    }
    put_str(&l, group);
    put_str(&l, "] ");
    put_str(&l, text);
    l.buf[l.n++] = '\n';
    if (write(state.fd, l.buf, l.n) < 0) {
        /* nowhere left to report it */
    }
    errno = saved_errno;
}

/* True while the log goes to stderr (no --log-file). */
bool log_to_stderr(void)
{
    return state.fd == STDERR_FILENO;
}
