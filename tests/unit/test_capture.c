/* SPDX-License-Identifier: MIT */
/* Unit tests for capture/: frames written from scattered buffers read back
 * byte for byte with nanosecond timestamps, snaplen honoured, no frame lost
 * while another thread rotates the files; pcapng blocks well formed (lengths,
 * 32-bit alignment, option lists ended), directions, comments, fault notes,
 * stamps never going back. */
#define _GNU_SOURCE
#include <pcap/pcap.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/events.h"
#include "capture/capture.h"

static void test_roundtrip(void **state)
{
    char path[] = "/tmp/lwipd-test-capture-XXXXXX";
    char err[PCAP_ERRBUF_SIZE];
    uint8_t a[14], b[1000], c[3];
    struct iovec iov[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
    struct pcap_pkthdr *h;
    const u_char *data;
    struct capture *cap;
    pcap_t *p;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 7);
    memset(c, 0xee, sizeof(c));
    cap = capture_open(path, 0, err, sizeof(err));
    assert_non_null(cap);
    capture_frame(cap, CAPTURE_IN, iov, 3, 1017, 0, NULL);
    capture_frame(cap, CAPTURE_OUT, iov, 1, 14, 0, NULL);
    capture_flush(cap);
    assert_int_equal(capture_frames(cap), 2);
    capture_close(cap);

    p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    assert_non_null(p);
    assert_int_equal(pcap_datalink(p), DLT_EN10MB);
    assert_int_equal(pcap_get_tstamp_precision(p), PCAP_TSTAMP_PRECISION_NANO);
    assert_int_equal(pcap_next_ex(p, &h, &data), 1);
    assert_int_equal(h->caplen, 1017);
    assert_memory_equal(data, a, 14);
    assert_memory_equal(data + 14, b, 1000);
    assert_memory_equal(data + 1014, c, 3);
    long first_ns = h->ts.tv_usec;
    long first_s = h->ts.tv_sec;
    assert_int_equal(pcap_next_ex(p, &h, &data), 1);
    assert_int_equal(h->caplen, 14);
    assert_true(h->ts.tv_sec > first_s || (h->ts.tv_sec == first_s && h->ts.tv_usec >= first_ns));
    assert_true(h->ts.tv_usec < 1000000000);
    assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
    pcap_close(p);
    unlink(path);
}

static void test_snaplen(void **state)
{
    char path[] = "/tmp/lwipd-test-capture-XXXXXX";
    char err[PCAP_ERRBUF_SIZE];
    uint8_t f[1500] = {1};
    struct iovec iov = {f, sizeof(f)};
    struct pcap_pkthdr *h;
    const u_char *data;
    struct capture *cap;
    pcap_t *p;
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    cap = capture_open(path, 64, err, sizeof(err));
    assert_non_null(cap);
    capture_frame(cap, CAPTURE_OUT, &iov, 1, sizeof(f), 0, NULL);
    capture_close(cap);
    p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    assert_non_null(p);
    assert_int_equal(pcap_next_ex(p, &h, &data), 1);
    assert_int_equal(h->caplen, 64);
    assert_int_equal(h->len, 1500);
    pcap_close(p);
    unlink(path);
}

#define RACE_FRAMES 200000

static atomic_bool race_done;
static atomic_uint race_errors;

static void *rotate_thread(void *arg)
{
    struct capture *cap = arg;

    while (!atomic_load(&race_done))
        if (capture_rotate(cap) != 0)
            atomic_fetch_add(&race_errors, 1);
    return NULL;
}

/* Frames written while another thread rotates: every one is taken (the
 * writer waits for a rotation instead of skipping the frame). */
static void test_rotation_keeps_every_frame(void **state)
{
    char dir[] = "/tmp/lwipd-test-capture-XXXXXX";
    char path[64], err[PCAP_ERRBUF_SIZE];
    uint8_t f[60] = {0};
    struct iovec iov = {f, sizeof(f)};
    struct capture *cap;
    pthread_t rot;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.pcap", dir);
    cap = capture_open(path, 0, err, sizeof(err));
    assert_non_null(cap);
    capture_set_rotation(cap, 0, 2);
    assert_int_equal(pthread_create(&rot, NULL, rotate_thread, cap), 0);
    for (unsigned i = 0; i < RACE_FRAMES; i++)
        capture_frame(cap, CAPTURE_OUT, &iov, 1, sizeof(f), 0, NULL);
    uint64_t taken = capture_frames(cap);
    atomic_store(&race_done, true);
    pthread_join(rot, NULL);
    assert_int_equal(atomic_load(&race_errors), 0);
    assert_true(capture_rotations(cap) > 0);
    assert_int_equal(taken, RACE_FRAMES);
    capture_close(cap);
    unlink(path);
    snprintf(path, sizeof(path), "%s/c.pcap.1", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- pcapng -------------------------------------------------------------- */

struct ng_frame {
    uint32_t flags;
    uint64_t ts;
    uint32_t caplen, len;
    uint8_t data[64];
    unsigned ncomments;
    char comments[8][400];
};

struct ng_file {
    unsigned nframes;
    struct ng_frame f[8];
    uint8_t tsresol;
    uint32_t snaplen;
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Walk the options from P to END: each padded to 32 bits, the list ended
 * by opt_endofopt exactly at END. Comments and epb_flags go into FR (may
 * be NULL), if_tsresol into NG. */
static void ng_options(const uint8_t *p, const uint8_t *end, struct ng_frame *fr,
                       struct ng_file *ng, uint32_t btype)
{
    for (;;) {
        assert_true(p + 4 <= end);
        uint16_t code = rd16(p), len = rd16(p + 2);
        p += 4;
        if (code == 0) {
            assert_int_equal(len, 0);
            assert_ptr_equal(p, end); /* opt_endofopt is the last */
            return;
        }
        assert_true(p + ((len + 3u) & ~3u) <= end);
        if (btype == 6 && code == 1 && fr && fr->ncomments < 8) {
            assert_true(len < 400);
            memcpy(fr->comments[fr->ncomments], p, len);
            fr->comments[fr->ncomments++][len] = '\0';
        } else if (btype == 6 && code == 2 && fr) {
            assert_int_equal(len, 4);
            fr->flags = rd32(p);
        } else if (btype == 1 && code == 9) {
            assert_int_equal(len, 1);
            ng->tsresol = p[0];
        }
        for (unsigned i = len; i < ((len + 3u) & ~3u); i++)
            assert_int_equal(p[i], 0); /* padding is zeros */
        p += (len + 3u) & ~3u;
    }
}

/* Read the pcapng file PATH into NG, checking every block's framing. */
static void ng_read(const char *path, struct ng_file *ng)
{
    static uint8_t buf[1 << 16];
    FILE *fp = fopen(path, "rb");
    size_t n, off = 0;

    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    memset(ng, 0, sizeof(*ng));
    assert_true(n >= 28);
    assert_int_equal(rd32(buf), 0x0A0D0D0A);
    assert_int_equal(rd32(buf + 8), 0x1A2B3C4D);
    while (off < n) {
        assert_true(off + 12 <= n);
        uint32_t type = rd32(buf + off), total = rd32(buf + off + 4);
        const uint8_t *b = buf + off;

        assert_int_equal(total % 4, 0);
        assert_true(total >= 12 && off + total <= n);
        assert_int_equal(rd32(b + total - 4), total);
        if (type == 0x0A0D0D0A) {
            assert_int_equal(rd16(b + 12), 1);
            ng_options(b + 24, b + total - 4, NULL, ng, type);
        } else if (type == 1) {
            assert_int_equal(rd16(b + 8), 1); /* Ethernet */
            ng->snaplen = rd32(b + 12);
            ng_options(b + 16, b + total - 4, NULL, ng, type);
        } else {
            assert_int_equal(type, 6);
            assert_true(ng->nframes < 8);
            struct ng_frame *fr = &ng->f[ng->nframes++];
            fr->ts = (uint64_t)rd32(b + 12) << 32 | rd32(b + 16);
            fr->caplen = rd32(b + 20);
            fr->len = rd32(b + 24);
            memcpy(fr->data, b + 28, fr->caplen < 64 ? fr->caplen : 64);
            ng_options(b + 28 + ((fr->caplen + 3u) & ~3u), b + total - 4, fr, ng, type);
        }
        off += total;
    }
}

/* Frames both ways, an event, a fault note, an unsent frame: each EPB says
 * its direction, carries its comments, is aligned; the events name the
 * frames by their number in the file. */
static void test_pcapng_blocks(void **state)
{
    char path[] = "/tmp/lwipd-test-capture-XXXXXX";
    char err[256];
    uint8_t a[61], b[3];
    struct iovec ia = {a, sizeof(a)}, ib = {b, sizeof(b)};
    struct capture_note note = {.nacts = 0}, drop = {.nacts = 0};
    struct events_record ev[8];
    struct capture *cap;
    struct ng_file ng;
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    memset(a, 0xab, sizeof(a));
    memset(b, 0xcd, sizeof(b));
    events_init();
    cap = capture_new(0, NULL, err, sizeof(err));
    assert_non_null(cap);
    capture_set_format(cap, CAPTURE_PCAPNG);
    assert_int_equal(capture_start(cap, path, err, sizeof(err)), 0);
    events_emit("mark", "\"text\":\"one\"");
    capture_frame(cap, CAPTURE_IN, &ia, 1, sizeof(a), 0, NULL);
    capture_note_add(&note, 3, "corrupt", 7, "rx corrupt 5% bytes 1-2");
    capture_frame(cap, CAPTURE_IN, &ib, 1, sizeof(b), 0, &note);
    assert_int_equal(note.frame, 2);
    capture_note_add(&drop, 2, "drop", 9, "tx drop 50% \"icmp\"");
    drop.unsent = true;
    capture_frame(cap, CAPTURE_OUT, &ia, 1, sizeof(a), 1, &drop); /* stamp 1: raised */
    assert_int_equal(drop.frame, 3);
    capture_close(cap);

    ng_read(path, &ng);
    assert_int_equal(ng.tsresol, 9);
    assert_int_equal(ng.nframes, 3);
    assert_int_equal(ng.f[0].flags & 3, 1); /* inbound */
    assert_int_equal(ng.f[2].flags & 3, 2); /* outbound */
    assert_int_equal(ng.f[0].caplen, 61);
    assert_memory_equal(ng.f[0].data, a, 61);
    assert_int_equal(ng.f[1].caplen, 3);
    assert_memory_equal(ng.f[1].data, b, 3);
    assert_true(ng.f[1].ts >= ng.f[0].ts && ng.f[2].ts >= ng.f[1].ts);
    assert_int_equal(ng.f[0].ncomments, 1); /* the mark, as its JSON line */
    assert_non_null(strstr(ng.f[0].comments[0], "\"type\":\"mark\""));
    assert_int_equal(ng.f[1].ncomments, 2);
    assert_string_equal(ng.f[1].comments[0], "corrupted by fault rule 3 (rx corrupt 5% bytes 1-2)");
    assert_non_null(strstr(ng.f[1].comments[1], "\"frame\":2,"));
    assert_non_null(strstr(ng.f[2].comments[0], "dropped by fault rule 2 (tx drop 50% \"icmp\")"));
    /* the events log: the fault events carry the frames' numbers */
    size_t n = events_recent(ev, 8);
    assert_int_equal(n, 3);
    assert_non_null(strstr(ev[2].text, "\"action\":\"drop\",\"match\":9,\"frame\":3,"));
    /* a dropped frame is not one that crossed the TAP */
    unlink(path);
}

/* Classic pcap leaves an unsent frame out: its event has no frame. */
static void test_pcap_leaves_unsent_out(void **state)
{
    char path[] = "/tmp/lwipd-test-capture-XXXXXX";
    char err[256];
    uint8_t a[60] = {0};
    struct iovec ia = {a, sizeof(a)};
    struct capture_note drop = {.unsent = true};
    struct capture *cap;
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    cap = capture_open(path, 0, err, sizeof(err));
    assert_non_null(cap);
    capture_frame(cap, CAPTURE_OUT, &ia, 1, sizeof(a), 0, NULL);
    capture_note_add(&drop, 1, "drop", 1, "tx drop 100%");
    capture_frame(cap, CAPTURE_OUT, &ia, 1, sizeof(a), 0, &drop);
    assert_int_equal(drop.frame, 0);
    assert_int_equal(capture_frames(cap), 1);
    capture_close(cap);
    unlink(path);
}

static void test_open_error(void **state)
{
    char err[256] = "";

    (void)state;
    assert_null(capture_open("/nonexistent-dir/x.pcap", 0, err, sizeof(err)));
    assert_true(strlen(err) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_snaplen),
        cmocka_unit_test(test_rotation_keeps_every_frame),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test(test_pcapng_blocks),
        cmocka_unit_test(test_pcap_leaves_unsent_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
