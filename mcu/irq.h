/* SPDX-License-Identifier: MIT */
/* Emulated interrupt controller: IRQ lines are POSIX real-time signals. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQ_MAX_LINES 8 /* SIGRTMIN+4 .. +11 (crash/ freezes threads with +12) */

/* What happens when an ISR breaks the rules (see irq_violation()). */
enum irq_policy {
    IRQ_POLICY_DETECT, /* report with both stacks, then stop */
    IRQ_POLICY_RTOS,   /* do what an RTOS with a semaphore-guarded heap does: skip the lock */
    IRQ_POLICY_POSIX,  /* block as POSIX would; the watchdog reports the hang */
};

enum irq_violation_kind {
    IRQ_V_BLOCKING,   /* a primitive that may block was called from an ISR */
    IRQ_V_REENTRY,    /* the ISR wants a lock the interrupted context holds */
    IRQ_V_HELD_OTHER, /* the ISR wants a lock another thread holds: it would have to wait */
};

enum irq_action {
    IRQ_ACT_PROCEED, /* go on and block (posix) */
    IRQ_ACT_SKIP,    /* do not take the lock / do not block (rtos) */
};

typedef void (*irq_isr_cb)(void *arg);

struct irq_line;

struct irq_line_stats {
    uint64_t raised;    /* edges that sent a signal */
    uint64_t coalesced; /* raises while already asserted */
    uint64_t serviced;  /* ISR runs */
    uint64_t deferred;  /* arrivals while the target had IRQs masked */
    uint64_t forwarded; /* passed on to where the target had moved */
};

int irq_init(enum irq_policy policy);
enum irq_policy irq_policy(void);
/* The policies' names, indexed by value (base/names.h). */
extern const char *const irq_policy_names[IRQ_POLICY_POSIX + 1];
const char *irq_policy_name(enum irq_policy p);
int irq_policy_parse(const char *s, enum irq_policy *out);

struct irq_line *irq_line_new(const char *name, irq_isr_cb isr, void *arg);
void irq_line_free(struct irq_line *l);
const char *irq_line_name(const struct irq_line *l);
int irq_line_signo(const struct irq_line *l);
void irq_line_set_target(struct irq_line *l, pthread_t target);
struct mutex;
void irq_line_follow_lock(struct irq_line *l, struct mutex *const *lock);
void irq_raise(struct irq_line *l);
void irq_line_get_stats(const struct irq_line *l, struct irq_line_stats *out);

void irq_disable(void);
void irq_enable(void);
bool irq_in_isr(void);
bool irq_masked(void);
void *irq_isr_ucontext(void);

/* Told about every violation (see irq_violation()); runs in the ISR, so it
 * must be async-signal-safe. Under --irq-policy detect it is expected not
 * to return (crash/'s fatal_on_irq_violation()). */
typedef void (*irq_violation_cb)(void *arg, enum irq_violation_kind kind, const char *primitive,
                                 const char *object);

void irq_set_violation_hook(irq_violation_cb cb, void *arg);
enum irq_action irq_violation(enum irq_violation_kind kind, const char *primitive,
                              const char *object);
uint64_t irq_violation_count(void);
const char *irq_violation_kind_name(enum irq_violation_kind kind);

/* Locks and memory used where an ISR may strike. */
int irq_mutex_lock(struct mutex *m, const char *primitive);
int irq_mutex_unlock(struct mutex *m);
void *irq_calloc(size_t n, size_t size);
void irq_free(void *p);
