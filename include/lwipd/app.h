/* SPDX-License-Identifier: MIT */
/* lwipd's application API: the one header a shared object loaded with
 * `lwipd --app PATH.so` (or `lwipctl app load`) is built against.
 *
 * An app is the user's firmware network code (raw/altcp callbacks, netconn
 * or sockets threads) running inside lwipd, on lwipd's own lwIP, under its
 * interrupts and faults. It exports one descriptor, made by
 * LWIPD_APP_DEFINE(); lwipd reads it after dlopen(), checks that the app was
 * built against the same lwIP version and ABI-relevant options (the
 * fingerprint below), then calls start().
 *
 * Build it with the flags of `pkg-config --cflags lwipd-app`: they point at
 * this header, the lwIP headers and the lwipopts.h of the lwipd that is
 * installed, so the fingerprint the app carries is computed from the same
 * macros lwipd was built with. See lwipd-app(3).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* opt.h before init.h: init.h includes opt.h before it defines the version
 * (see lwipd's daemon/buildinfo.c). */
#include "lwip/opt.h"
#include "lwip/init.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The API version. Raised when the descriptor or a function below changes
 * incompatibly; lwipd loads only apps built for its own version. */
#define LWIPD_APP_API_VERSION 1

/* "lwap": a descriptor, not some other symbol named lwipd_app. */
#define LWIPD_APP_MAGIC 0x6c776170u

/* The lwIP version as one number (MAJOR.MINOR.REVISION, 8 bits each). */
#define LWIPD_APP_LWIP_VERSION                                                                     \
    (((uint32_t)LWIP_VERSION_MAJOR << 16) | ((uint32_t)LWIP_VERSION_MINOR << 8) |                  \
     (uint32_t)LWIP_VERSION_REVISION)

/* ---- the ABI fingerprint ------------------------------------------------
 * The lwIP options an app and lwipd must agree on: those that change the
 * layout of lwIP's structures an app touches (struct netif, tcp_pcb,
 * pbuf, netconn, the stats), which API functions exist, or values an app
 * compiles into its code (TCP_MSS, TCP_WND, TCP_SND_BUF). Pool sizes
 * (MEMP_NUM_*, PBUF_POOL_SIZE, MEM_SIZE) are lwipd's business alone and are
 * left out. Options an older lwIP lacks count as -1. */
#ifdef LWIP_TCP_SACK_OUT /* 2.1+ */
#define LWIPD_APP_O_SACK_OUT LWIP_TCP_SACK_OUT
#else
#define LWIPD_APP_O_SACK_OUT (-1)
#endif
#ifdef LWIP_NETIF_EXT_STATUS_CALLBACK /* 2.1+ */
#define LWIPD_APP_O_EXT_STATUS LWIP_NETIF_EXT_STATUS_CALLBACK
#else
#define LWIPD_APP_O_EXT_STATUS (-1)
#endif
#ifdef LWIP_ALTCP /* 2.1+ */
#define LWIPD_APP_O_ALTCP LWIP_ALTCP
#else
#define LWIPD_APP_O_ALTCP (-1)
#endif
#ifdef LWIP_TCP_PCB_NUM_EXT_ARGS /* 2.1+ */
#define LWIPD_APP_O_EXT_ARGS LWIP_TCP_PCB_NUM_EXT_ARGS
#else
#define LWIPD_APP_O_EXT_ARGS (-1)
#endif
#ifdef LWIP_ACD /* 2.2+ */
#define LWIPD_APP_O_ACD LWIP_ACD
#else
#define LWIPD_APP_O_ACD (-1)
#endif
#ifdef MEM_CUSTOM_ALLOCATOR /* 2.2+ */
#define LWIPD_APP_O_CUSTOM_ALLOC MEM_CUSTOM_ALLOCATOR
#else
#define LWIPD_APP_O_CUSTOM_ALLOC (-1)
#endif

/* X(index, "NAME", value): index keys the option in the fingerprint and
 * never changes; a new option takes the next free one. */
#define LWIPD_APP_ABI_OPTIONS(X)                                                                   \
    X(1, "LWIP_IPV4", LWIP_IPV4)                                                                   \
    X(2, "LWIP_IPV6", LWIP_IPV6)                                                                   \
    X(3, "LWIP_TCP", LWIP_TCP)                                                                     \
    X(4, "LWIP_UDP", LWIP_UDP)                                                                     \
    X(5, "LWIP_RAW", LWIP_RAW)                                                                     \
    X(6, "LWIP_NETCONN", LWIP_NETCONN)                                                             \
    X(7, "LWIP_SOCKET", LWIP_SOCKET)                                                               \
    X(8, "LWIP_ALTCP", LWIPD_APP_O_ALTCP)                                                          \
    X(9, "LWIP_IGMP", LWIP_IGMP)                                                                   \
    X(10, "LWIP_DHCP", LWIP_DHCP)                                                                  \
    X(11, "LWIP_AUTOIP", LWIP_AUTOIP)                                                              \
    X(12, "LWIP_DNS", LWIP_DNS)                                                                    \
    X(13, "LWIP_ACD", LWIPD_APP_O_ACD)                                                             \
    X(14, "LWIP_NETIF_HOSTNAME", LWIP_NETIF_HOSTNAME)                                              \
    X(15, "LWIP_NETIF_STATUS_CALLBACK", LWIP_NETIF_STATUS_CALLBACK)                                \
    X(16, "LWIP_NETIF_LINK_CALLBACK", LWIP_NETIF_LINK_CALLBACK)                                    \
    X(17, "LWIP_NETIF_REMOVE_CALLBACK", LWIP_NETIF_REMOVE_CALLBACK)                                \
    X(18, "LWIP_NETIF_EXT_STATUS_CALLBACK", LWIPD_APP_O_EXT_STATUS)                                \
    X(19, "LWIP_NUM_NETIF_CLIENT_DATA", LWIP_NUM_NETIF_CLIENT_DATA)                                \
    X(20, "LWIP_CHECKSUM_CTRL_PER_NETIF", LWIP_CHECKSUM_CTRL_PER_NETIF)                            \
    X(21, "TCP_MSS", TCP_MSS)                                                                      \
    X(22, "TCP_WND", TCP_WND)                                                                      \
    X(23, "TCP_SND_BUF", TCP_SND_BUF)                                                              \
    X(24, "TCP_SND_QUEUELEN", TCP_SND_QUEUELEN)                                                    \
    X(25, "LWIP_WND_SCALE", LWIP_WND_SCALE)                                                        \
    X(26, "TCP_LISTEN_BACKLOG", TCP_LISTEN_BACKLOG)                                                \
    X(27, "LWIP_TCP_TIMESTAMPS", LWIP_TCP_TIMESTAMPS)                                              \
    X(28, "LWIP_TCP_SACK_OUT", LWIPD_APP_O_SACK_OUT)                                               \
    X(29, "LWIP_TCP_PCB_NUM_EXT_ARGS", LWIPD_APP_O_EXT_ARGS)                                       \
    X(30, "LWIP_CALLBACK_API", LWIP_CALLBACK_API)                                                  \
    X(31, "LWIP_EVENT_API", LWIP_EVENT_API)                                                        \
    X(32, "LWIP_TCP_KEEPALIVE", LWIP_TCP_KEEPALIVE)                                                \
    X(33, "LWIP_SO_SNDTIMEO", LWIP_SO_SNDTIMEO)                                                    \
    X(34, "LWIP_SO_RCVTIMEO", LWIP_SO_RCVTIMEO)                                                    \
    X(35, "LWIP_SO_RCVBUF", LWIP_SO_RCVBUF)                                                        \
    X(36, "LWIP_SO_LINGER", LWIP_SO_LINGER)                                                        \
    X(37, "LWIP_NETCONN_FULLDUPLEX", LWIP_NETCONN_FULLDUPLEX)                                      \
    X(38, "LWIP_NETCONN_SEM_PER_THREAD", LWIP_NETCONN_SEM_PER_THREAD)                              \
    X(39, "LWIP_TCPIP_CORE_LOCKING", LWIP_TCPIP_CORE_LOCKING)                                      \
    X(40, "LWIP_SOCKET_OFFSET", LWIP_SOCKET_OFFSET)                                                \
    X(41, "LWIP_STATS", LWIP_STATS)                                                                \
    X(42, "MEM_LIBC_MALLOC", MEM_LIBC_MALLOC)                                                      \
    X(43, "MEM_CUSTOM_ALLOCATOR", LWIPD_APP_O_CUSTOM_ALLOC)                                        \
    X(44, "MEM_USE_POOLS", MEM_USE_POOLS)                                                          \
    X(45, "MEMP_MEM_MALLOC", MEMP_MEM_MALLOC)                                                      \
    X(46, "MEM_ALIGNMENT", MEM_ALIGNMENT)                                                          \
    X(47, "LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT", LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT)        \
    X(48, "PBUF_LINK_HLEN", PBUF_LINK_HLEN)                                                        \
    X(49, "PBUF_LINK_ENCAPSULATION_HLEN", PBUF_LINK_ENCAPSULATION_HLEN)                            \
    X(50, "ETH_PAD_SIZE", ETH_PAD_SIZE)                                                            \
    X(51, "SYS_LIGHTWEIGHT_PROT", SYS_LIGHTWEIGHT_PROT)                                            \
    X(52, "LWIP_NETIF_API", LWIP_NETIF_API)

/* One option's term: a 64-bit mix (splitmix64's finaliser) of its value
 * keyed by its index, so that two options swapping values still differ. */
#define LWIPD_APP_MIX1_(z) (((z) ^ ((z) >> 30)) * 0xbf58476d1ce4e5b9ull)
#define LWIPD_APP_MIX2_(z) (((z) ^ ((z) >> 27)) * 0x94d049bb133111ebull)
#define LWIPD_APP_MIX_(z)                                                                          \
    (LWIPD_APP_MIX2_(LWIPD_APP_MIX1_(z)) ^ (LWIPD_APP_MIX2_(LWIPD_APP_MIX1_(z)) >> 31))
#define LWIPD_APP_FP_TERM_(i, name, v)                                                             \
    +LWIPD_APP_MIX_((unsigned long long)(long long)(v) + ((unsigned long long)(i) << 48))

/* The fingerprint: a compile-time constant over the lwIP version and every
 * option of LWIPD_APP_ABI_OPTIONS(). Equal fingerprints: lwipd and the app
 * agree; unequal: the descriptor's option table says which option differs. */
#define LWIPD_APP_ABI_FINGERPRINT                                                                  \
    ((uint64_t)(LWIPD_APP_MIX_((unsigned long long)LWIPD_APP_LWIP_VERSION)                         \
                    LWIPD_APP_ABI_OPTIONS(LWIPD_APP_FP_TERM_)))

/* One row of the option table a descriptor carries. */
struct lwipd_app_abi_opt {
    const char *name;
    long long value;
};

#define LWIPD_APP_ABI_ROW_(i, n, v) {n, (long long)(v)},

/* ---- the descriptor ----------------------------------------------------- */

struct lwipd_app;       /* one loaded app: its name, counters, commands, threads */
struct lwipd_app_reply; /* a command's JSON answer being written */
struct lwipd_app_counter;
struct netif;

/* Start the app. Called once, in lwIP's tcpip thread with the core lock
 * held, after the netif was added and set up (the link may still be down,
 * and with --dhcp there may be no address yet), with ARGS the text after
 * ':' in `--app PATH.so:ARGS` ("" when none). The raw/altcp API may be used
 * directly; the sockets and netconn APIs only from threads the app makes
 * with lwipd_app_thread_new() (calling them here would deadlock).
 * Must not block. Returns 0, or a negative errno after logging why with
 * lwipd_app_log(): the app is then unloaded (stop() is not called; undo
 * what was done before returning) and lwipd goes on without it, unless
 * --app-required is set. */
typedef int (*lwipd_app_start_fn)(struct lwipd_app *app, const char *args);

/* Stop the app: at `lwipctl app unload`, and when lwipd stops. Called once,
 * in the tcpip thread with the core lock held, after lwipd_app_stopping()
 * became true. Undo what start() set up in lwIP (pcbs, timeouts, netif
 * callbacks) and tell the app's threads to end; do not wait for them here
 * (they may need the core lock to finish). lwipd then waits for every
 * thread made with lwipd_app_thread_new() to return before it unmaps the
 * app. May be NULL. */
typedef void (*lwipd_app_stop_fn)(struct lwipd_app *app);

struct lwipd_app_desc {
    uint32_t magic;       /* LWIPD_APP_MAGIC */
    uint32_t api_version; /* LWIPD_APP_API_VERSION the app was built with */
    const char *name;     /* 1-31 of [A-Za-z0-9_-]: the stats key, the command word */
    uint32_t lwip_version;
    uint64_t fingerprint;
    const struct lwipd_app_abi_opt *abi_opts;
    uint32_t abi_nopts;
    lwipd_app_start_fn start;
    lwipd_app_stop_fn stop;
};

/* Define the descriptor, the symbol `lwipd_app` lwipd looks for. Use it
 * once in one source file of the app: LWIPD_APP_DEFINE(myapp, my_start,
 * my_stop); NAME is a bare word. */
#define LWIPD_APP_DEFINE(name_, start_, stop_)                                                     \
    static const struct lwipd_app_abi_opt lwipd_app_abi_opts_[] = {                                \
        LWIPD_APP_ABI_OPTIONS(LWIPD_APP_ABI_ROW_)};                                                \
    __attribute__((visibility("default"))) const struct lwipd_app_desc lwipd_app = {               \
        LWIPD_APP_MAGIC,                                                                           \
        LWIPD_APP_API_VERSION,                                                                     \
        #name_,                                                                                    \
        LWIPD_APP_LWIP_VERSION,                                                                    \
        LWIPD_APP_ABI_FINGERPRINT,                                                                 \
        lwipd_app_abi_opts_,                                                                       \
        sizeof(lwipd_app_abi_opts_) / sizeof(lwipd_app_abi_opts_[0]),                              \
        start_,                                                                                    \
        stop_}

/* ---- what lwipd offers the app ------------------------------------------
 * Every function takes the APP handle start() was given. Unless said
 * otherwise a function may be called from any thread, but not from an
 * interrupt handler, and not after stop() returned. */

/* The app's name, from its descriptor. */
const char *lwipd_app_name(const struct lwipd_app *app);

/* lwipd's network interface (the TAP's netif). Touch it only with the core
 * lock held (in start(), stop(), lwIP callbacks, or LOCK_TCPIP_CORE()). */
struct netif *lwipd_app_netif(const struct lwipd_app *app);

/* True once lwipd has begun to stop the app: the app's threads poll it (or
 * learn it from stop()) and return. */
bool lwipd_app_stopping(const struct lwipd_app *app);

/* Log levels of lwipd_app_log(), lwipd's own. */
enum lwipd_app_log_level {
    LWIPD_APP_LOG_ERR = 0,
    LWIPD_APP_LOG_WARN = 1,
    LWIPD_APP_LOG_INFO = 2,
    LWIPD_APP_LOG_DEBUG = 3,
};

/* Write one line to lwipd's log (stderr or --log-file) at LEVEL, under the
 * app's name as its group; dropped below --log-level. */
void lwipd_app_log(const struct lwipd_app *app, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lwipd_app_vlog(const struct lwipd_app *app, int level, const char *fmt, va_list ap);

/* A named counter, shown by `lwipctl stats` as apps.<app>.<NAME>. NAME:
 * 1-31 of [A-Za-z0-9_]. Create counters in start() (the control thread
 * reads the list). Returns the counter (owned by lwipd, freed at unload),
 * or NULL when NAME is bad, taken, or the app has LWIPD_APP_MAX_COUNTERS. */
#define LWIPD_APP_MAX_COUNTERS 32
struct lwipd_app_counter *lwipd_app_counter_new(struct lwipd_app *app, const char *name);

/* Add N to counter C (atomically: any thread, even an ISR). C NULL: no-op. */
void lwipd_app_counter_add(struct lwipd_app_counter *c, uint64_t n);

/* Set counter C to V (a gauge: clients now connected). C NULL: no-op. */
void lwipd_app_counter_set(struct lwipd_app_counter *c, uint64_t v);

/* A control command's handler, for `lwipctl app APP NAME ARGS...`: ARGV[0]
 * is NAME, ARGV[1..ARGC-1] the words after it (owned by lwipd, valid during
 * the call). It runs in lwipd's control thread, not in the tcpip thread and
 * without the core lock: take LOCK_TCPIP_CORE() to read lwIP state, keep
 * the app's own state safe for that thread (atomics, a mutex). It must not
 * block for long: the control socket waits. Write the answer with the
 * lwipd_app_reply_*() functions; return 0, or non-zero after
 * lwipd_app_reply_error() (an error answer, lwipd stays up). */
typedef int (*lwipd_app_command_fn)(struct lwipd_app *app, int argc, char **argv,
                                    struct lwipd_app_reply *reply, void *arg);

/* Add command NAME (1-31 of [A-Za-z0-9_-]) with one line of HELP (shown by
 * `lwipctl app APP help`), handled by FN with ARG. Call it from start().
 * Returns 0, -EINVAL (bad name), -EEXIST, or -ENOSPC (16 commands). */
#define LWIPD_APP_MAX_COMMANDS 16
int lwipd_app_command_add(struct lwipd_app *app, const char *name, const char *help,
                          lwipd_app_command_fn fn, void *arg);

/* The answer's fields, in order, into the current object (the answer's top
 * level, or the one lwipd_app_reply_begin() opened). KEY is copied. */
void lwipd_app_reply_int(struct lwipd_app_reply *r, const char *key, long long v);
void lwipd_app_reply_double(struct lwipd_app_reply *r, const char *key, double v);
void lwipd_app_reply_bool(struct lwipd_app_reply *r, const char *key, bool v);
void lwipd_app_reply_str(struct lwipd_app_reply *r, const char *key, const char *v);
/* Open a nested object under KEY (at most 8 deep); _end() closes it. */
void lwipd_app_reply_begin(struct lwipd_app_reply *r, const char *key);
void lwipd_app_reply_end(struct lwipd_app_reply *r);
/* Make the answer an error with this message (the fields are dropped). */
void lwipd_app_reply_error(struct lwipd_app_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Start a thread of the app running FN(ARG), made by lwIP's
 * sys_thread_new() as lwIP's own are: registered under NAME (at most 31
 * characters; the first 15 are the Linux thread name), so it appears in
 * crash reports and watchdog stacks and `--irq-target NAME` can aim the
 * TX-complete interrupt at it (for apps loaded at startup). Call it from
 * start() or from another thread of the app. The thread may use the
 * sockets and netconn APIs; it must return once lwipd_app_stopping() is
 * true (poll it, e.g. with a select() timeout). Returns 0 or -ENOMEM;
 * lwipd exits with 71 if the system refuses the thread (lwIP's rule). */
int lwipd_app_thread_new(struct lwipd_app *app, const char *name, void (*fn)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif
