/* SPDX-License-Identifier: MIT */
/* lwipctl report [PATH]: print the text form of the last crash report.
 *
 * lwipd writes lwipd-crash-<stamp>-<pid>.json and, beside it, the same
 * report as text (.txt). This prints the text; for a .json whose .txt is
 * missing (a report from before the text form, or a text write that
 * failed) it renders the text from the JSON with lwipd's own renderer
 * (crash/crash_text.c), so both always read the same.
 *
 * Where to look, when no PATH is given: the running daemon's report
 * directory (`status` answers "report_dir"); without a daemon, lwipd's
 * default rule as far as a client can follow it: $LOGS_DIRECTORY, else
 * /tmp (the capture's directory is known only to the daemon). */
#define _GNU_SOURCE
#include "lwipctl_report.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash/crash_text.h"

#define EXIT_FAILED  1  /* a report that cannot be read or rendered */
#define EXIT_USAGE   64 /* EX_USAGE */
#define EXIT_NOINPUT 66 /* EX_NOINPUT: no crash report there */

#define PREFIX "lwipd-crash-"

/* The contents of PATH (a malloc'd string, its length in *LEN), or NULL
 * with errno set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* True if NAME is a report file: lwipd-crash-*.json or .txt. */
static bool is_report(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);

    return strncmp(name, PREFIX, strlen(PREFIX)) == 0 && n > e && strcmp(name + n - e, ext) == 0;
}

/* The newest report in DIR (by modification time, then name) into OUT
 * (LEN bytes): its .json, or a .txt with no .json. Returns 0, -ENOENT
 * when there is none, or -errno when DIR cannot be read. */
static int newest_report(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct timespec best = {0, 0};
    char best_name[256] = "";

    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        bool json = is_report(e->d_name, ".json");
        char j[sizeof(e->d_name) + 8];

        if (!json && !is_report(e->d_name, ".txt"))
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* a .txt counts on its own only without its .json */
        snprintf(j, sizeof(j), "%.*s.json", (int)(strlen(e->d_name) - 4), e->d_name);
        if (!json && faccessat(dirfd(d), j, F_OK, 0) == 0)
            continue;
        if (st.st_mtim.tv_sec > best.tv_sec ||
            (st.st_mtim.tv_sec == best.tv_sec &&
             (st.st_mtim.tv_nsec > best.tv_nsec ||
              (st.st_mtim.tv_nsec == best.tv_nsec && strcmp(e->d_name, best_name) > 0)))) {
            best = st.st_mtim;
            snprintf(best_name, sizeof(best_name), "%s", e->d_name);
        }
    }
    closedir(d);
    if (!best_name[0])
        return -ENOENT;
    if (snprintf(out, len, "%s/%s", dir, best_name) >= (int)len)
        return -ENAMETOOLONG;
    return 0;
}

/* Print the report at PATH (a .txt, or a .json: its .txt, else rendered). */
static int print_report(const char *path)
{
    char txt[4096];
    size_t n = strlen(path), len;
    char *data;
    cJSON *doc;
    char *text;

    if (n >= 5 && strcmp(path + n - 5, ".json") == 0 &&
        crash_text_path(path, txt, sizeof(txt)) == 0 && access(txt, R_OK) == 0)
        path = txt;
    data = read_file(path, &len);
    if (!data) {
        fprintf(stderr, "lwipctl: report: %s: %s\n", path, strerror(errno));
        return errno == ENOENT ? EXIT_NOINPUT : EXIT_FAILED;
    }
    if (!(len >= 1 && data[0] == '{')) { /* the text form: as it is */
        fwrite(data, 1, len, stdout);
        free(data);
        return 0;
    }
    doc = cJSON_Parse(data);
    free(data);
    text = cJSON_IsObject(doc) ? crash_text_render(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        fprintf(stderr, "lwipctl: report: %s: not a crash report (no JSON object)\n", path);
        return EXIT_FAILED;
    }
    fputs(text, stdout);
    cJSON_free(text);
    return 0;
}

/* The daemon's report directory into OUT, from `status` over SOCK. */
static int daemon_report_dir(const char *sock, double timeout, lwipctl_ask_fn ask, char *out,
                             size_t len)
{
    cJSON *resp = ask(sock, "{\"cmd\":\"status\"}", timeout);
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(resp, "report_dir");
    int err = -ENOENT;

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")) && cJSON_IsString(dir)) {
        snprintf(out, len, "%s", dir->valuestring);
        err = 0;
    }
    cJSON_Delete(resp);
    return err;
}

/* `lwipctl report [PATH]` (ARGV[0] is "report"): see the note at the top.
 * SOCK and TIMEOUT: the daemon to ask for its report directory, through
 * ASK. Returns lwipctl's exit status: 0, 64 usage, 66 no report, 1 a
 * report that cannot be read. */
int lwipctl_report(int argc, char **argv, const char *sock, double timeout, lwipctl_ask_fn ask)
{
    char dir[4096], path[4096];
    const char *logs = getenv("LOGS_DIRECTORY");
    const char *from;
    struct stat st;
    int err;

    if (argc > 2) {
        fprintf(stderr, "lwipctl: report takes one PATH at most\n");
        return EXIT_USAGE;
    }
    if (argc == 2 && stat(argv[1], &st) == 0 && !S_ISDIR(st.st_mode))
        return print_report(argv[1]);
    if (argc == 2) {
        snprintf(dir, sizeof(dir), "%s", argv[1]);
        from = "the directory given";
    } else if (daemon_report_dir(sock, timeout, ask, dir, sizeof(dir)) == 0) {
        from = "lwipd's --report-dir";
    } else if (logs && *logs && !strchr(logs, ':')) {
        snprintf(dir, sizeof(dir), "%s", logs);
        from = "$LOGS_DIRECTORY, no lwipd answering";
    } else {
        snprintf(dir, sizeof(dir), "/tmp");
        from = "the default, no lwipd answering";
    }
    err = newest_report(dir, path, sizeof(path));
    if (err == -ENOENT && (argc < 2 || stat(argv[1], &st) == 0)) {
        fprintf(stderr, "lwipctl: report: no crash report (lwipd-crash-*.json) in %s (%s)\n", dir,
                from);
        return EXIT_NOINPUT;
    }
    if (err) {
        fprintf(stderr, "lwipctl: report: %s: %s\n", dir, strerror(-err));
        return EXIT_NOINPUT;
    }
    return print_report(path);
}
