/* SPDX-License-Identifier: MIT */
/* pcapng block encoding: a section header, one Ethernet interface with
 * nanosecond stamps, enhanced packet blocks with a direction flag and
 * comments.
 *
 * Design note
 * -----------
 * A pcapng block is: type (32 bits), total length (32), body, the total
 * length again; every body field and option value is padded to 32 bits,
 * and an option list ends with opt_endofopt (code 0, length 0). The file is
 * written in the host's byte order, which the section header's byte-order
 * magic announces. Blocks are built in memory and written whole, so a
 * reader never sees half a block (the writer's stdio buffer holds any
 * record: see capture.c).
 */
#define _GNU_SOURCE
#include "capture/capture_priv.h"

#include <string.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u

#define OPT_END        0
#define OPT_COMMENT    1
#define SHB_USERAPPL   4
#define IF_NAME        2
#define IF_TSRESOL     9
#define EPB_FLAGS      2
#define LINKTYPE_ETHER 1

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static size_t put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return 4;
}

static size_t put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
    return 2;
}

/* One option: code, length, value padded to 32 bits (zeros). */
static size_t put_opt(uint8_t *p, uint16_t code, const void *val, size_t len)
{
    size_t n = put16(p, code);

    n += put16(p + n, (uint16_t)len);
    if (len) /* opt_endofopt has no value: VAL may be NULL */
        memcpy(p + n, val, len);
    memset(p + n + len, 0, pad4(len) - len);
    return n + pad4(len);
}

/* The section header block into BUF (CAP bytes, 64 are enough): byte-order
 * magic, version 1.0, section length unknown, the writing application.
 * Returns its length. */
size_t pcapng_shb(uint8_t *buf, size_t cap)
{
    static const char appl[] = "lwipd";
    size_t n = 0;

    if (cap < 64)
        return 0;
    n += put32(buf + n, BT_SHB);
    n += 4; /* total length, below */
    n += put32(buf + n, 0x1A2B3C4Du);
    n += put16(buf + n, 1);
    n += put16(buf + n, 0);
    n += put32(buf + n, 0xFFFFFFFFu); /* section length: -1, not given */
    n += put32(buf + n, 0xFFFFFFFFu);
    n += put_opt(buf + n, SHB_USERAPPL, appl, sizeof(appl) - 1);
    n += put_opt(buf + n, OPT_END, NULL, 0);
    n += 4;
    put32(buf + 4, (uint32_t)n);
    put32(buf + n - 4, (uint32_t)n);
    return n;
}

/* The interface description block (interface 0): Ethernet, SNAPLEN,
 * if_tsresol 9 (stamps count nanoseconds). CAP >= 64. Returns its length. */
size_t pcapng_idb(uint8_t *buf, size_t cap, unsigned snaplen)
{
    static const char name[] = "tap";
    const uint8_t resol = 9;
    size_t n = 0;

    if (cap < 64)
        return 0;
    n += put32(buf + n, BT_IDB);
    n += 4;
    n += put16(buf + n, LINKTYPE_ETHER);
    n += put16(buf + n, 0);
    n += put32(buf + n, snaplen);
    n += put_opt(buf + n, IF_NAME, name, sizeof(name) - 1);
    n += put_opt(buf + n, IF_TSRESOL, &resol, 1);
    n += put_opt(buf + n, OPT_END, NULL, 0);
    n += 4;
    put32(buf + 4, (uint32_t)n);
    put32(buf + n - 4, (uint32_t)n);
    return n;
}

static size_t options_size(const struct capture_comments *cm)
{
    size_t n = 4 + 4 + 4; /* epb_flags, opt_endofopt */

    for (unsigned i = 0; cm && i < cm->n; i++)
        n += 4 + pad4(strlen(cm->text[i]));
    return n;
}

/* The total length of an enhanced packet block carrying CAPLEN bytes and
 * the comments CM (NULL: none). */
size_t pcapng_epb_size(size_t caplen, const struct capture_comments *cm)
{
    return 28 + pad4(caplen) + options_size(cm) + 4;
}

/* The first 28 bytes of an EPB of TOTAL bytes (pcapng_epb_size()) into BUF:
 * interface 0, the stamp TS_NS split in two 32-bit halves, CAPLEN bytes
 * captured of LEN. The frame's bytes follow it. Returns 28. */
size_t pcapng_epb_head(uint8_t *buf, size_t total, uint64_t ts_ns, size_t caplen, size_t len)
{
    size_t n = 0;

    n += put32(buf + n, BT_EPB);
    n += put32(buf + n, (uint32_t)total);
    n += put32(buf + n, 0);
    n += put32(buf + n, (uint32_t)(ts_ns >> 32));
    n += put32(buf + n, (uint32_t)ts_ns);
    n += put32(buf + n, (uint32_t)caplen);
    n += put32(buf + n, (uint32_t)len);
    return n;
}

/* What follows the frame's bytes into BUF (CAP bytes): the padding of
 * CAPLEN to 32 bits, the comments CM (NULL: none), epb_flags with the
 * direction (bits 0-1: 1 inbound, 2 outbound), opt_endofopt and the total
 * length again. Returns its length (0 if CAP is too small). */
size_t pcapng_epb_tail(uint8_t *buf, size_t cap, size_t total, size_t caplen, enum capture_dir dir,
                       const struct capture_comments *cm)
{
    uint32_t flags = dir == CAPTURE_IN ? 1u : 2u;
    size_t n = pad4(caplen) - caplen;

    if (cap < n + options_size(cm) + 4)
        return 0;
    memset(buf, 0, n);
    for (unsigned i = 0; cm && i < cm->n; i++)
        n += put_opt(buf + n, OPT_COMMENT, cm->text[i], strlen(cm->text[i]));
    n += put_opt(buf + n, EPB_FLAGS, &flags, 4);
    n += put_opt(buf + n, OPT_END, NULL, 0);
    n += put32(buf + n, (uint32_t)total);
    return n;
}
