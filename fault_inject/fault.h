/* SPDX-License-Identifier: MIT */
/* The fault injector: packet rules per direction, IRQ rules, a delay line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "capture/capture.h"
#include "fault_inject/rule.h"

struct fault;

/* How the injector hands frames back to the driver (delayed, duplicated or
 * rewritten ones), a duplicate always right behind its original. Called
 * from inside fault_rx or fault_tx, in line with the frames they pass, or
 * from the delay line's thread for a held frame. tx_write's TS_NS is the
 * stamp the frame must carry in the capture (a duplicate: its original's),
 * or 0 for "now"; its NOTE (may be NULL) is for the capture: what the rules
 * did to the frame, their events recorded once it is written. */
typedef void (*fault_rx_deliver_cb)(void *arg, const uint8_t *data, size_t len); /* into lwIP */
typedef void (*fault_tx_write_cb)(void *arg, const uint8_t *data, size_t len, uint64_t ts_ns,
                                  struct capture_note *note); /* onto the TAP */

struct fault_io {
    fault_rx_deliver_cb rx_deliver; /* the delay line's thread: a held frame */
    /* inside fault_rx (the RX thread): a frame, then its duplicates; it goes
     * into lwIP behind the frames fault_rx passed before and ahead of those
     * it passes next, as if the driver had passed it itself */
    fault_rx_deliver_cb rx_inline;
    fault_tx_write_cb tx_write; /* any of them: written at once */
    void *arg;
};

enum fault_verdict {
    FAULT_PASS,  /* the driver goes on with the frame (maybe modified) */
    FAULT_DROP,  /* the driver drops it */
    FAULT_TAKEN, /* the injector took it (delayed, or sent its own copy) */
};

/* Rules per direction (rx, tx, irq, alloc), and in all. */
#define FAULT_RULES_PER_DIR 64
#define FAULT_MAX_RULES     ((FAULT_ALLOC + 1) * FAULT_RULES_PER_DIR)

/* One rule as listed: what it is and what it did. */
struct fault_rule_info {
    unsigned id;
    char text[512];
    uint64_t matched;
    uint64_t acted;
};

struct fault_irq_decision {
    int lost;         /* do not raise */
    int dup;          /* raise twice */
    uint64_t late_ns; /* raise this much later */
};

struct fault_stats {
    uint64_t delayed_now;    /* frames in the delay line */
    uint64_t delay_overflow; /* frames dropped: the delay line was full */
    uint64_t released;       /* delayed frames delivered */
};

struct fault *fault_new(uint64_t seed);
void fault_free(struct fault *f);
void fault_set_io(struct fault *f, const struct fault_io *io);
int fault_add(struct fault *f, const char *text, char *err, size_t errlen);
int fault_del(struct fault *f, unsigned id);
int fault_load_file(struct fault *f, const char *path, char *err, size_t errlen);
void fault_clear(struct fault *f);
size_t fault_list(struct fault *f, struct fault_rule_info *out, size_t max);
void fault_get_stats(struct fault *f, struct fault_stats *out);
void fault_arm_alloc(struct fault *f);
bool fault_active(struct fault *f, enum fault_dir dir);
enum fault_verdict fault_rx(struct fault *f, struct iovec *iov, int iovcnt, size_t *len,
                            struct capture_note *note);
enum fault_verdict fault_tx(struct fault *f, const struct iovec *iov, int iovcnt, size_t len,
                            struct capture_note *note);
void fault_irq(struct fault *f, struct fault_irq_decision *d);
uint64_t fault_irq_spurious_ns(struct fault *f);
void fault_irq_spurious_fired(struct fault *f);
