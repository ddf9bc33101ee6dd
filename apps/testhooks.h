/* SPDX-License-Identifier: MIT */
/* Test-only damage done on purpose (lwipd --test-hooks): known mistakes
 * whose effects the detectors must name. */
#pragma once

struct testhooks_wrong_free {
    int chain;       /* pbufs in the chain that was allocated */
    int freed;       /* pbufs pbuf_free() released */
    int head_leaked; /* the head never returns */
};

int testhooks_pbuf_wrong_free(void *arg);

struct testhooks_stall {
    unsigned ms; /* how long the tcpip thread is blocked */
};

int testhooks_stall(void *arg);
