/* SPDX-License-Identifier: MIT */
/* Fatal incidents: lwIP asserts, ISR violations, crashes, a wedged stack. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status after a report (FATAL_EXIT): "lwipd found a fault", distinct
 * from the sysexits codes of ordinary errors. */
#define FATAL_EXIT_CODE 3

#define FATAL_MAX_FRAMES  48
#define FATAL_MAX_THREADS 32
#define FATAL_NAME_LEN    64

enum fatal_action {
    FATAL_EXIT,  /* report, then exit with FATAL_EXIT_CODE */
    FATAL_ABORT, /* report, then abort() (core dump) */
    FATAL_HOLD,  /* report, keep lwIP frozen and the control socket answering */
};

struct fatal_frame {
    uintptr_t ip;
    uintptr_t off;
    char fn[FATAL_NAME_LEN];   /* "" when unknown */
    char file[FATAL_NAME_LEN]; /* source file ("core/mem.c"), "" when unknown */
    int line;                  /* its line, 0 when unknown */
    int signal_frame;          /* the signal trampoline: the frames below were interrupted */
};

struct fatal_stack {
    char thread[32];
    pid_t lwp;
    int valid;
    int nframes;
    struct fatal_frame frames[FATAL_MAX_FRAMES];
};

/* Everything known about one incident; filled without allocating. */
struct fatal_incident {
    char kind[32]; /* irq-violation, lwip-assert, lwip-bug, signal, watchdog */
    char message[512];
    char violation[96]; /* irq-violation: what rule */
    char primitive[32]; /* irq-violation: the call that broke it */
    char object[64];    /* irq-violation: the lock or object */
    int in_isr;
    uint64_t ts_ns;                 /* CLOCK_REALTIME */
    struct fatal_stack current;     /* the thread that hit it (in an ISR: the ISR) */
    struct fatal_stack interrupted; /* in an ISR: the code it interrupted */
    int nthreads;
    struct fatal_stack threads[FATAL_MAX_THREADS]; /* every other thread, frozen */
};

/* Writes the report (reporter thread, other lwIP threads frozen); fills
 * PATH with where it went ("" when nowhere). ARG: fatal_configure()'s. */
typedef void (*fatal_writer_cb)(void *arg, const struct fatal_incident *inc, char *path,
                                size_t pathlen);

int fatal_init(void);
bool fatal_reporter_thread(pthread_t *out);
/* Memory for what a report is built from: malloc()/free() everywhere but in
 * the reporter thread, where it comes from memory of its own. */
void *fatal_alloc(size_t size);
unsigned long fatal_alloc_failures(void);
void fatal_free(void *p);
void fatal_configure(fatal_writer_cb writer, void *arg, enum fatal_action action,
                     pid_t keep_running);
int fatal_action_parse(const char *s, enum fatal_action *out);
/* The actions' names, indexed by value (base/names.h). */
extern const char *const fatal_action_names[FATAL_HOLD + 1];
const char *fatal_action_name(enum fatal_action a);
bool fatal_happened(void);
void fatal_write_str(const char *s);
void fatal_defer_begin(void);
void fatal_defer_end(void);

void fatal_report(const char *kind, const char *message) __attribute__((noreturn));
void fatal_violation(const char *kind, const char *primitive, const char *object, void *uc)
    __attribute__((noreturn));
void fatal_watchdog(const char *message);

/* Hooks for mcu/ (irq_set_violation_hook(), rtos_heap_set_fault_hook()). */
enum irq_violation_kind;
void fatal_on_irq_violation(void *arg, enum irq_violation_kind kind, const char *primitive,
                            const char *object);
void fatal_on_fault(void *arg, const char *kind, const char *message) __attribute__((noreturn));
