/* SPDX-License-Identifier: MIT */
/* lwipd's config file, parsed by inih (Debian's libinih). Every line is
 * 'key = value' where the key is a long option's name; '#' and ';' start a
 * comment line; values are taken verbatim up to the end of the line (no
 * quoting, no inline comments, no continuation lines); sections are not
 * used. inih does not tell its handler the line number, so our reader
 * counts the lines it hands over: the handler runs for the line just read. */
#include "lwipd_config.h"
#include "daemon/config.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CONFIG_MAX_LINE 1024 /* a longer line is an error */

struct config_ctx {
    config_set_cb set;
    void *arg;
    FILE *file;       /* one of file and text */
    const char *text; /* the rest of the text */
    int line;
    int err_line; /* the first error's line, 0: none */
    char err[512];
};

static void ctx_error(struct config_ctx *c, const char *msg)
{
    if (c->err_line)
        return; /* keep the first one */
    c->err_line = c->line;
    snprintf(c->err, sizeof(c->err), "%s", msg);
}

/* inih's reader: one line into STR (at most NUM - 1 bytes) from a FILE or
 * from the text. A line that does not fit is an error of its own, and its
 * remainder is skipped so that inih never sees a split line. */
static char *reader(char *str, int num, void *stream)
{
    struct config_ctx *c = stream;
    size_t n = 0, max = (size_t)num - 1;
    bool too_long = false;
    int ch;

    for (;;) {
        if (c->file) {
            ch = fgetc(c->file);
        } else {
            ch = *c->text ? (unsigned char)*c->text : EOF;
            if (ch != EOF)
                c->text++;
        }
        if (ch == EOF)
            break;
        if (ch == '\0') {
            too_long = true; /* a NUL cuts the line short: refuse it like a long one */
            continue;
        }
        if (n < max - 1)
            str[n++] = (char)ch;
        else
            too_long = true;
        if (ch == '\n')
            break;
    }
    if (n == 0 && !too_long)
        return NULL;
    c->line++;
    if (too_long) {
        char msg[96];

        snprintf(msg, sizeof(msg), "line %d: too long or not text (at most %d characters)", c->line,
                 CONFIG_MAX_LINE - 3);
        ctx_error(c, msg);
        n = 0;
        str[n++] = '\n'; /* a blank line for inih */
    }
    str[n] = '\0';
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct config_ctx *c = user;
    char msg[512];

    if (c->err_line)
        return 0;
    if (section && *section) {
        snprintf(msg, sizeof(msg), "line %d: key '%s' in section [%.64s]: sections are not used",
                 c->line, name, section);
        ctx_error(c, msg);
        return 0;
    }
    if (c->set(c->arg, name, value ? value : "", c->line, msg, sizeof(msg)) != 0) {
        ctx_error(c, msg);
        return 0;
    }
    return 1;
}

static int parse(struct config_ctx *c, char *err, size_t errlen, const char *name)
{
    int r;

    /* Debian's inih has these as run-time settings: values verbatim,
     * lines up to CONFIG_MAX_LINE, stop at the first error. */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_stop_on_first_error = true;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_max_line = CONFIG_MAX_LINE;
    r = ini_parse_stream(reader, c, handler, c);
    if (r == 0 && !c->err_line)
        return 0;
    if (c->err_line)
        snprintf(err, errlen, "%s: %s", name, c->err);
    else if (r == -2)
        snprintf(err, errlen, "%s: out of memory", name);
    else
        snprintf(err, errlen, "%s: line %d: not 'key = value' (or a [section] or a comment)", name,
                 r);
    return -EINVAL;
}

/* Read the config file PATH, handing every key to SET with ARG. Returns 0,
 * or -errno with ERR naming the file, the line and the key (SET has seen
 * the keys before the bad line). */
int config_load(const char *path, config_set_cb set, void *arg, char *err, size_t errlen)
{
    struct config_ctx c = {.set = set, .arg = arg};
    int r;

    c.file = fopen(path, "re");
    if (!c.file) {
        r = -errno;
        snprintf(err, errlen, "--config %s: %s", path, strerror(errno));
        return r;
    }
    r = parse(&c, err, errlen, path);
    fclose(c.file);
    return r;
}

/* The same for TEXT in memory (tests, the fuzzer); errors name "config". */
int config_parse_string(const char *text, config_set_cb set, void *arg, char *err, size_t errlen)
{
    struct config_ctx c = {.set = set, .arg = arg, .text = text};

    return parse(&c, err, errlen, "config");
}
