/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of apps/iperf3/ and nothing else: the
 * clock every iperf3 timestamp uses, lwIP's error names, random bytes.
 * Header-only (static inline), so it adds no link-time dependency between
 * the files.
 *
 * The folder's files, in dependency order (each uses only those before):
 * iperf3_proto (framing, codes, UDP header), iperf3_params and
 * iperf3_results (the two JSON messages), iperf3_ctrl (the control
 * connection, and how any iperf3 connection ends), iperf3_cookie (new
 * connections until their cookie is in), iperf3_stream (data streams),
 * iperf3_interval (the client's -i reports), iperf3_report (results, CPU
 * use, the client's report), then
 * iperf3_server and iperf3_client; iperf3.h is what other folders include. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>

#include "lwip/arch.h"
#include "lwip/err.h"

#include "base/base.h"

/* The clock every iperf3 timestamp uses: CLOCK_MONOTONIC, in ns. */
static inline uint64_t iperf3_priv_now_ns(void)
{
    return base_now_ns();
}

/* A short text for an lwIP error (lwIP's own names are only compiled in
 * with LWIP_DEBUG). */
static inline const char *iperf3_priv_err_text(err_t err)
{
    switch (err) {
    case ERR_RST:
        return "connection reset";
    case ERR_ABRT:
        return "connection aborted (no answer?)";
    case ERR_CLSD:
        return "connection closed";
    case ERR_MEM:
        return "out of memory";
    case ERR_TIMEOUT:
        return "timeout";
    case ERR_RTE:
        return "no route";
    default:
        return "lwIP error";
    }
}

/* Fill BUF with LEN random bytes: getrandom(), or lwIP's LWIP_RAND() for
 * what it cannot give without blocking. */
static inline void iperf3_priv_random(uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = getrandom(buf + got, len - got, GRND_NONBLOCK);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    for (; got < len; got++)
        buf[got] = (uint8_t)LWIP_RAND();
}
