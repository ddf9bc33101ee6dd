/* SPDX-License-Identifier: MIT */
/* Logger: one line per message, written with a single write() so lines from
 * different threads never interleave. Under systemd (JOURNAL_STREAM matches
 * stderr) lines carry sd-daemon "<N>" priority prefixes instead of a
 * timestamp, which journald stores as the priority.
 *
 * Not for signal handlers: they use port/fatal.c's write()-only reporter.
 */
#define _GNU_SOURCE
#include "port/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    return level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?";
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
