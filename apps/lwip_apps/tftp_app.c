/* SPDX-License-Identifier: MIT */
/* lwIP's TFTP server (UDP 69) on a small file backend rooted in
 * --tftp-server's DIR: read and write, nothing outside DIR.
 *
 * lwIP hands the file name the client sent as is. A name with a ".."
 * component is refused before any file is touched (it is counted and
 * logged); what is left is opened with openat2(RESOLVE_BENEATH) under
 * DIR's descriptor, so a symbolic link cannot lead out either. Without
 * openat2 (Linux < 5.6) only names without '/' are served.
 *
 * The callbacks run in the tcpip thread and use only system calls (no
 * allocation): an emulated IRQ may interrupt them at any point. lwIP's
 * server runs one transfer at a time; one handle is enough.
 *
 * lwIP 2.0.x's server copies the requested name without its terminating
 * NUL into an uninitialised stack buffer and hands that to open() (2.1
 * sized the buffer TFTP_MAX_FILENAME_LEN + 1 and ends the string). On
 * 2.0.x the glue wraps the server's UDP receive callback: it first lays a
 * stretch of zeros where the callback's frame will be, so the name ends
 * where the client's did. A name that still holds a byte no client sends
 * is refused. */
#define _GNU_SOURCE
#include "lwipd_config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lwip/apps/tftp_server.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "apps/lwip_apps/lwip_apps_priv.h"
#include "base/log.h"

struct tftp_file {
    int fd; /* -1: free */
    int writing;
};

/* Written in the tcpip thread; counters read racily by the control thread. */
static struct {
    int started;
    int root; /* O_PATH descriptor of DIR */
    char dir[256];
    struct tftp_file file;
    uint64_t reads, writes, refused, bytes_sent, bytes_received, errors;
    char last_refused[TFTP_MAX_FILENAME_LEN + 1];
} tftp = {.root = -1, .file = {.fd = -1}};

#if LWIPD_LWIP_VERSION_MM < 201
static udp_recv_fn server_recv; /* lwIP's own, called by recv_zeroed() */

/* Zeros over the stack a function called next from the same frame uses. */
static __attribute__((noinline)) void zero_stack(void)
{
    volatile char pad[2048];

    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = 0;
}

static void recv_zeroed(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    zero_stack();
    server_recv(arg, pcb, p, addr, port);
}

/* Put recv_zeroed() in front of the server's callback. 0, or -ENOENT if
 * lwIP's server has no PCB on TFTP_PORT. */
static int wrap_server_recv(void)
{
    for (struct udp_pcb *pcb = udp_pcbs; pcb; pcb = pcb->next) {
        if (pcb->local_port == TFTP_PORT && pcb->recv != recv_zeroed) {
            server_recv = pcb->recv;
            udp_recv(pcb, recv_zeroed, pcb->recv_arg);
            return 0;
        }
    }
    return -ENOENT;
}
#endif

/* 1 if NAME holds a byte a client does not send in a name (lwIP 2.0.x's
 * unterminated name running into the stack). */
static int has_control(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            return 1;
    }
    return 0;
}

/* 1 if NAME has a ".." path component. */
static int has_dotdot(const char *name)
{
    for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2) {
        if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    }
    return 0;
}

/* Open NAME (relative, sanitised) under the root with FLAGS. fd or -errno. */
static int open_beneath(const char *name, int flags)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
        .mode = (flags & O_CREAT) ? 0644 : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    };
    long fd = syscall(SYS_openat2, tftp.root, name, &how, sizeof(how));

    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS)
        return -errno;
    if (strchr(name, '/'))
        return -EPERM;
    fd = openat(tftp.root, name, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
    return fd >= 0 ? (int)fd : -errno;
}

static void refuse(const char *fname, const char *why)
{
    tftp.refused++;
    snprintf(tftp.last_refused, sizeof(tftp.last_refused), "%s", fname);
    log_warn("tftp", "refused '%s': %s", fname, why);
}

/* lwIP: open FNAME for reading or (IS_WRITE) writing. The handle, or NULL
 * (lwIP then sends the client an error). */
static void *file_open(const char *fname, const char *mode, u8_t is_write)
{
    const char *name = fname;
    int fd;

    (void)mode; /* netascii is served as octet, as lwIP's examples do */
    while (*name == '/')
        name++;
    if (has_control(name)) {
        refuse(fname, "a byte no client sends in a name");
        return NULL;
    }
    if (!*name || has_dotdot(name)) {
        refuse(fname, "outside the served directory");
        return NULL;
    }
    if (tftp.file.fd >= 0) {
        refuse(fname, "a transfer is in progress");
        return NULL;
    }
    fd = open_beneath(name, is_write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY);
    if (fd < 0) {
        refuse(fname, strerror(-fd));
        return NULL;
    }
    tftp.file.fd = fd;
    tftp.file.writing = is_write;
    if (is_write)
        tftp.writes++;
    else
        tftp.reads++;
    log_info("tftp", "%s '%s'", is_write ? "receiving" : "sending", name);
    return &tftp.file;
}

static void file_close(void *handle)
{
    struct tftp_file *f = handle;

    if (f && f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
}

/* lwIP: up to BYTES of the file into BUF. The count (< BYTES at the end),
 * or -1. */
static int file_read(void *handle, void *buf, int bytes)
{
    struct tftp_file *f = handle;
    ssize_t n;

    while ((n = read(f->fd, buf, (size_t)bytes)) < 0 && errno == EINTR)
        ;
    if (n < 0) {
        tftp.errors++;
        return -1;
    }
    tftp.bytes_sent += (uint64_t)n;
    return (int)n;
}

/* lwIP: append the data of chain P. 0, or -1 (lwIP aborts the transfer). */
static int file_write(void *handle, struct pbuf *p)
{
    struct tftp_file *f = handle;

    for (struct pbuf *q = p; q; q = q->next) {
        const char *data = q->payload;
        size_t left = q->len;

        while (left) {
            ssize_t n = write(f->fd, data, left);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                tftp.errors++;
                return -1;
            }
            data += n;
            left -= (size_t)n;
            tftp.bytes_received += (uint64_t)n;
        }
    }
    return 0;
}

#if LWIPD_LWIP_VERSION_MM >= 202
/* lwIP 2.2: the client sent an error for the transfer of HANDLE. */
static void file_error(void *handle, int err, const char *msg, int size)
{
    (void)handle;
    tftp.errors++;
    log_warn("tftp", "client error %d: %.*s", err, size, msg);
}
#endif

static const struct tftp_context tftp_ctx = {
    .open = file_open,
    .close = file_close,
    .read = file_read,
    .write = file_write,
#if LWIPD_LWIP_VERSION_MM >= 202
    .error = file_error,
#endif
};

/* Serve DIR by lwIP's TFTP server on UDP 69 (tcpip thread). 0, or -errno
 * when DIR cannot be opened or lwIP cannot bind. */
int tftp_app_start(const char *dir)
{
    err_t e;

    tftp.root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (tftp.root < 0) {
        int err = -errno;

        log_err("tftp", "--tftp-server %s: %s", dir, strerror(-err));
        return err;
    }
    snprintf(tftp.dir, sizeof(tftp.dir), "%s", dir);
#if LWIPD_LWIP_VERSION_MM >= 202
    e = tftp_init_server(&tftp_ctx);
#else
    e = tftp_init(&tftp_ctx);
#endif
    if (e != ERR_OK) {
        log_err("tftp", "lwIP's TFTP server cannot start: lwIP error %d", (int)e);
        close(tftp.root);
        tftp.root = -1;
        return -EADDRINUSE;
    }
#if LWIPD_LWIP_VERSION_MM < 201
    if (wrap_server_recv() != 0)
        log_warn("tftp", "lwIP 2.0's server PCB not found: names may run into the stack");
#endif
    tftp.started = 1;
    log_info("tftp", "lwIP TFTP server on UDP 69, serving %s", dir);
    return 0;
}

void tftp_app_json(cJSON *o)
{
    cJSON_AddBoolToObject(o, "running", tftp.started);
    cJSON_AddStringToObject(o, "dir", tftp.dir);
    cJSON_AddNumberToObject(o, "reads", (double)tftp.reads);
    cJSON_AddNumberToObject(o, "writes", (double)tftp.writes);
    cJSON_AddNumberToObject(o, "refused", (double)tftp.refused);
    cJSON_AddStringToObject(o, "last_refused", tftp.last_refused);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)tftp.bytes_sent);
    cJSON_AddNumberToObject(o, "bytes_received", (double)tftp.bytes_received);
    cJSON_AddNumberToObject(o, "errors", (double)tftp.errors);
}
