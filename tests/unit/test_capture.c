/* SPDX-License-Identifier: MIT */
/* Unit tests for capture/: frames written from scattered buffers read back
 * byte for byte with nanosecond timestamps, snaplen honoured, no frame lost
 * while another thread rotates the files. */
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
    capture_frame(cap, iov, 3, 1017, 0);
    capture_frame(cap, iov, 1, 14, 0);
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
    capture_frame(cap, &iov, 1, sizeof(f), 0);
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
        capture_frame(cap, &iov, 1, sizeof(f), 0);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
