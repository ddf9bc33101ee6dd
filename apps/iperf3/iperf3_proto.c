/* SPDX-License-Identifier: MIT */
/* iperf3 wire protocol, pure part: framing, state bytes, the cookie, the
 * UDP datagram header, receiver accounting, error code texts. Every length
 * is checked before use: the bytes come from the network. */
#include "lwipd_config.h"
#include "apps/iperf3/iperf3_proto.h"

#include <errno.h>
#include <string.h>

#include "base/names.h"

/* The implied id of the INDEX-th stream (0-based, creation order): 1, 3,
 * 4, 5, ... (2 is skipped, as every iperf3 since 3.0 does). */
uint32_t iperf3_proto_stream_id(unsigned index)
{
    return index == 0 ? 1u : index + 2u;
}

/* Look at a length-prefixed JSON message at BUF (AVAIL bytes so far).
 * Returns 0 when complete (the body is the *BODY_LEN bytes at BUF + 4),
 * -EAGAIN when more bytes are needed, -EMSGSIZE when the announced length
 * is 0 or over MAX. */
int iperf3_proto_frame_check(const uint8_t *buf, size_t avail, size_t max, size_t *body_len)
{
    uint32_t n;

    if (avail < 4)
        return -EAGAIN;
    n = iperf3_proto_get_be32(buf);
    if (n == 0 || n > max)
        return -EMSGSIZE;
    *body_len = n;
    return avail - 4 >= n ? 0 : -EAGAIN;
}

/* Store V big-endian at B (4 bytes). */
void iperf3_proto_put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* The big-endian 32-bit value at B. */
uint32_t iperf3_proto_get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Encode the state byte MSG at B; for IPERF3_SERVER_ERROR also the iperf3
 * error code IERR and ERRNUM, as big-endian int32. Returns the bytes
 * written: 1, or IPERF3_MSG_MAX for SERVER_ERROR. */
size_t iperf3_proto_msg_put(uint8_t b[IPERF3_MSG_MAX], int msg, int ierr, int errnum)
{
    b[0] = (uint8_t)(int8_t)msg;
    if (msg != IPERF3_SERVER_ERROR)
        return 1;
    iperf3_proto_put_be32(b + 1, (uint32_t)ierr);
    iperf3_proto_put_be32(b + 5, (uint32_t)errnum);
    return IPERF3_MSG_MAX;
}

/* A cookie like 3.2+ clients make: 36 characters of lower-case base32
 * chosen by RANDOM, then a NUL. */
void iperf3_proto_make_cookie(char cookie[IPERF3_COOKIE_SIZE], const uint8_t random[36])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

    for (int i = 0; i < 36; i++)
        cookie[i] = alphabet[random[i] & 31];
    cookie[36] = '\0';
}

/* Bytes of the datagram header: 12, or 16 with 64-bit counters. */
size_t iperf3_proto_udp_hdr_size(bool counters_64bit)
{
    return counters_64bit ? 16 : 12;
}

/* Write a datagram header at BUF (16 bytes of room): sender time NOW_US
 * as seconds and microseconds, then the sequence number, 32 or 64 bits,
 * all big-endian. Returns the header size. */
size_t iperf3_proto_udp_hdr_put(uint8_t *buf, uint64_t now_us, uint64_t seq, bool counters_64bit)
{
    iperf3_proto_put_be32(buf, (uint32_t)(now_us / 1000000u));
    iperf3_proto_put_be32(buf + 4, (uint32_t)(now_us % 1000000u));
    if (counters_64bit) {
        iperf3_proto_put_be32(buf + 8, (uint32_t)(seq >> 32));
        iperf3_proto_put_be32(buf + 12, (uint32_t)seq);
    } else {
        iperf3_proto_put_be32(buf + 8, (uint32_t)seq);
    }
    return iperf3_proto_udp_hdr_size(counters_64bit);
}

/* Read a datagram header (LEN bytes at BUF). 0, or -EINVAL when too short. */
int iperf3_proto_udp_hdr_get(const uint8_t *buf, size_t len, bool counters_64bit, double *sent_s,
                             uint64_t *seq)
{
    if (len < iperf3_proto_udp_hdr_size(counters_64bit))
        return -EINVAL;
    *sent_s = (double)iperf3_proto_get_be32(buf) + (double)iperf3_proto_get_be32(buf + 4) / 1e6;
    if (counters_64bit)
        *seq = (uint64_t)iperf3_proto_get_be32(buf + 8) << 32 | iperf3_proto_get_be32(buf + 12);
    else
        *seq = iperf3_proto_get_be32(buf + 8);
    return 0;
}

/* Count one received datagram with sequence number SEQ that spent
 * TRANSIT_S seconds on the way (receiver clock minus sender clock; only
 * differences matter). A gap counts as loss; a late datagram counts as
 * out of order and takes one loss back. Jitter is RFC 3550's running
 * estimate (1/16 gain). */
void iperf3_proto_udp_rx_count(struct iperf3_proto_udp_rx *rx, uint64_t seq, double transit_s)
{
    double d;

    if (seq > rx->max_seq) {
        rx->errors += seq - 1 - rx->max_seq;
        rx->max_seq = seq;
    } else {
        rx->out_of_order++;
        if (rx->errors > 0)
            rx->errors--;
    }
    if (!rx->have_transit) {
        rx->prev_transit = transit_s;
        rx->have_transit = true;
    }
    d = transit_s - rx->prev_transit;
    if (d < 0)
        d = -d;
    rx->prev_transit = transit_s;
    rx->jitter += (d - rx->jitter) / 16.0;
}

/* Short descriptions of the iperf3 error codes, for reports. */
static const char *const ierr_texts[] = {
    [IPERF3_IE_DURATION] = "test duration out of range",
    [IPERF3_IE_NUMSTREAMS] = "number of parallel streams not supported",
    [IPERF3_IE_BLOCKSIZE] = "block size out of range",
    [IPERF3_IE_BUFSIZE] = "socket buffer size out of range",
    [IPERF3_IE_MSS] = "MSS out of range",
    [IPERF3_IE_OMIT] = "omit value out of range",
    [IPERF3_IE_UNIMP] = "not implemented",
    [IPERF3_IE_BURST] = "burst count out of range",
    [IPERF3_IE_UDPBLOCKSIZE] = "UDP datagram size out of range",
    [IPERF3_IE_BADTOS] = "TOS value out of range",
    [IPERF3_IE_REVERSEBIDIR] = "reverse and bidirectional are exclusive",
    [IPERF3_IE_RECVCOOKIE] = "no cookie received",
    [IPERF3_IE_CTRLCLOSE] = "control connection closed",
    [IPERF3_IE_MESSAGE] = "unknown control message",
    [IPERF3_IE_RECVPARAMS] = "bad or missing test parameters",
    [IPERF3_IE_RECVRESULTS] = "bad or missing results",
    [IPERF3_IE_CLIENTTERM] = "the client terminated the test",
    [IPERF3_IE_SERVERTERM] = "the server terminated the test",
    [IPERF3_IE_ACCESSDENIED] = "the server is busy with another test",
    [IPERF3_IE_PROTOCOL] = "protocol not supported",
    [IPERF3_IE_NOMSG] = "no message within the timeout",
    [IPERF3_IE_CREATESTREAM] = "cannot create a stream",
    [IPERF3_IE_STREAMLISTEN] = "cannot open the stream listener",
    [IPERF3_IE_STREAMCONNECT] = "cannot connect a stream",
    [IPERF3_IE_STREAMACCEPT] = "streams did not arrive",
    [IPERF3_IE_STREAMREAD] = "stream read failed",
    [IPERF3_IE_STREAMID] = "results name an unknown stream",
};

/* A short description of the iperf3 error code IERR; "iperf3 error" for a
 * code without one. */
const char *iperf3_proto_ierr_text(int ierr)
{
    const char *t = names_get(ierr_texts, NAMES_COUNT(ierr_texts), (unsigned)ierr);

    return strcmp(t, "?") != 0 ? t : "iperf3 error";
}
