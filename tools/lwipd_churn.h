/* SPDX-License-Identifier: MIT */
/* lwipd-churn's shared parts: the run's parameters and results (the client
 * in lwipd-churn.c fills them, churn_report.c prints them) and the kernel
 * listener of --serve (churn_serve.c). */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define MAX_SAMPLES   (1u << 20) /* latency samples kept */
#define MAX_SOURCES   64         /* --bind addresses */
#define MAX_FAILKINDS 32         /* distinct failure names counted */
#define IOBUF         65536      /* one recv() */

enum pattern { P_CLIENT_CLOSE, P_SERVER_CLOSE, P_RST, P_HALF_CLOSE, P_VANISH, P_COUNT };

struct failkind {
    const char *name;
    uint64_t n;
};

struct run {
    struct event_base *base;
    struct sockaddr_in dst;
    struct sockaddr_in src[MAX_SOURCES];
    int nsrc;
    enum pattern patterns[P_COUNT]; /* used in turn */
    int npatterns;
    char pattern_arg[96];
    unsigned concurrency;
    uint64_t count;
    double time_s;
    unsigned timeout_ms;
    size_t payload;
    char *buf;  /* payload */
    char *rbuf; /* what comes back */
    uint64_t start_ns, stop_ns, last_ns;
    uint64_t started, ok, failed, inflight;
    uint64_t pat_ok[P_COUNT], pat_failed[P_COUNT];
    struct failkind fails[MAX_FAILKINDS];
    double *connect_ms, *total_ms;
    size_t nsamples;
    const char *stopped_by;
};

/* Failures counted by name (an errno name, "ETIMEDOUT", "EOF-before-echo"). */
void churn_report_fail(struct run *r, const char *name);
const char *churn_report_pattern_name(enum pattern p);
void churn_report_print(struct run *r);

int churn_serve(const struct sockaddr_in *addr, double time_s);
