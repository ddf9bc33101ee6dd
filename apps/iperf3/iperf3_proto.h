/* SPDX-License-Identifier: MIT */
/* The iperf3 wire protocol without any networking: limits, message and
 * error codes, framing, the cookie, the UDP datagram header and the
 * receiver's loss/jitter accounting. Pure functions, so they can be
 * unit-tested and fuzzed on their own (so are the parameter JSON,
 * iperf3_params.h, and the results JSON, iperf3_results.h);
 * iperf3_ctrl.c and iperf3_stream.c put them on lwIP. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPERF3_PORT            5201
#define IPERF3_COOKIE_SIZE     37 /* 36 printable characters and a NUL */
#define IPERF3_PARAMS_MAX      8192
#define IPERF3_RESULTS_MAX     (1024 * 1024)
#define IPERF3_MAX_PARALLEL    128
#define IPERF3_TCP_DEFAULT_LEN 131072
#define IPERF3_TCP_MAX_LEN     (1024 * 1024)
#define IPERF3_UDP_DEFAULT_LEN 1460
#define IPERF3_UDP_MIN_LEN     16
#define IPERF3_UDP_MAX_LEN     65507
#define IPERF3_MAX_OMIT        600
#define IPERF3_MAX_TIME        86400
#define IPERF3_MAX_BURST       1000

/* One signed byte on the control connection. */
enum iperf3_msg {
    IPERF3_TEST_START = 1,
    IPERF3_TEST_RUNNING = 2,
    IPERF3_TEST_END = 4,
    IPERF3_PARAM_EXCHANGE = 9,
    IPERF3_CREATE_STREAMS = 10,
    IPERF3_SERVER_TERMINATE = 11,
    IPERF3_CLIENT_TERMINATE = 12,
    IPERF3_EXCHANGE_RESULTS = 13,
    IPERF3_DISPLAY_RESULTS = 14,
    IPERF3_IPERF_DONE = 16,
    IPERF3_ACCESS_DENIED = -1,
    IPERF3_SERVER_ERROR = -2, /* followed by two big-endian int32: code, errno */
};

/* The iperf3 error codes (i_errno) lwipd sends or reports. */
enum iperf3_ierr {
    IPERF3_IE_DURATION = 5,
    IPERF3_IE_NUMSTREAMS = 6,
    IPERF3_IE_BLOCKSIZE = 7,
    IPERF3_IE_BUFSIZE = 8,
    IPERF3_IE_MSS = 10,
    IPERF3_IE_OMIT = 12,
    IPERF3_IE_UNIMP = 13,
    IPERF3_IE_BURST = 15,
    IPERF3_IE_UDPBLOCKSIZE = 20,
    IPERF3_IE_BADTOS = 21,
    IPERF3_IE_REVERSEBIDIR = 25,
    IPERF3_IE_RECVCOOKIE = 106,
    IPERF3_IE_CTRLCLOSE = 109,
    IPERF3_IE_MESSAGE = 110,
    IPERF3_IE_RECVPARAMS = 114,
    IPERF3_IE_RECVRESULTS = 117,
    IPERF3_IE_CLIENTTERM = 119,
    IPERF3_IE_SERVERTERM = 120,
    IPERF3_IE_ACCESSDENIED = 121,
    IPERF3_IE_PROTOCOL = 131,
    IPERF3_IE_NOMSG = 144,
    IPERF3_IE_CREATESTREAM = 200,
    IPERF3_IE_STREAMLISTEN = 202,
    IPERF3_IE_STREAMCONNECT = 203,
    IPERF3_IE_STREAMACCEPT = 204,
    IPERF3_IE_STREAMREAD = 206,
    IPERF3_IE_STREAMID = 208,
};

/* Totals of a UDP receiver (iperf3's loss and RFC 3550 jitter). */
struct iperf3_proto_udp_rx {
    uint64_t max_seq; /* highest sequence number seen ("packets") */
    uint64_t errors;  /* lost so far, corrected by late arrivals */
    uint64_t out_of_order;
    double jitter; /* seconds */
    double prev_transit;
    bool have_transit; /* false until the first datagram (and after omit) */
};

#define IPERF3_MSG_MAX 9 /* a state byte, SERVER_ERROR's two int32 */

uint32_t iperf3_proto_stream_id(unsigned index);
int iperf3_proto_frame_check(const uint8_t *buf, size_t avail, size_t max, size_t *body_len);
size_t iperf3_proto_msg_put(uint8_t b[IPERF3_MSG_MAX], int msg, int ierr, int errnum);
void iperf3_proto_put_be32(uint8_t *b, uint32_t v);
uint32_t iperf3_proto_get_be32(const uint8_t *b);
void iperf3_proto_make_cookie(char cookie[IPERF3_COOKIE_SIZE], const uint8_t random[36]);

size_t iperf3_proto_udp_hdr_size(bool counters_64bit);
size_t iperf3_proto_udp_hdr_put(uint8_t *buf, uint64_t now_us, uint64_t seq, bool counters_64bit);
int iperf3_proto_udp_hdr_get(const uint8_t *buf, size_t len, bool counters_64bit, double *sent_s,
                             uint64_t *seq);
void iperf3_proto_udp_rx_count(struct iperf3_proto_udp_rx *rx, uint64_t seq, double transit_s);

const char *iperf3_proto_ierr_text(int ierr);
