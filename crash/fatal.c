/* SPDX-License-Identifier: MIT */
/* Fatal incident reporter.
 *
 * Design note
 * -----------
 * An incident is hit where things went wrong: inside an emulated ISR, in a
 * thread holding lwIP's locks, on a corrupted heap. So the work is split:
 *
 * 1. The faulting thread records what only it can see, without locks or
 *    allocation: the instruction pointers of its own stack and, inside an
 *    ISR, of the code the ISR interrupted, unwound by libunwind from the
 *    signal's ucontext. Nothing is symbolised here: libunwind's
 *    unw_get_proc_name() allocates, and the ISR may have interrupted malloc()
 *    itself (seen with -Dheap=libc: it deadlocked). It writes the headline
 *    to stderr with write(), wakes the reporter thread and waits.
 * 2. The reporter thread (made at start-up) freezes every other registered
 *    thread with a signal whose handler records that thread's stack and
 *    then sleeps with all signals blocked, names every frame
 *    (symbols.c, libdwfl: function, file and line; static functions too,
 *    from tables loaded at fatal_init()),
 *    prints the stacks, calls the writer (crash_report.c's JSON report) and
 *    carries out the action: exit, abort, or hold (lwIP stays frozen, the
 *    control socket keeps answering). The first incident wins; a thread that
 *    hits a second one while the first is being reported just freezes.
 *    The headline and the report's path go to stderr and, with --log-file,
 *    to the log (base/log.c's write()-only log_write_safe()).
 *
 * The work is spread over fatal.c (incidents, the reporter thread, the
 * action), fatal_freeze.c (freezing the other threads) and fatal_stack.c
 * (recording, naming and printing stacks); fatal_priv.h joins them.
 *
 * A thread is not frozen inside a stretch marked with fatal_defer_begin()/
 * fatal_defer_end() (the capture writer: the reporter flushes the capture
 * and needs its lock): the freeze waits until the thread leaves it. Not
 * inside an ISR, though: the ISR may never return (--irq-policy posix), and
 * its stack is what the report is about.
 *
 * The writer allocates, and a frozen thread may hold the allocator's lock:
 * the ISR that broke a rule often interrupted malloc() itself. glibc gives
 * the reporter an arena of its own, but ASan's allocator shares one lock per
 * size class between threads, and the reporter hung on it. So while it
 * reports, the reporter allocates only from memory reserved at start-up
 * (fatal_alloc/fatal_free; cJSON's hooks point there).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "lwipd_config.h"
#include "crash/fatal_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"
#include "base/names.h"
#include "base/thread.h"
#include "crash/symbols.h"
#include "mcu/irq.h"

#define REPORT_TIMEOUT_MS 15000

/* The reporter's private memory: reserved, touched only by a report. */
#define ARENA_SIZE ((size_t)16 << 20)

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_SANITIZER 1 /* ASan/UBSan own the crash signals: leave them alone */
#else
#define HAVE_SANITIZER 0
#endif

static struct {
    fatal_writer_cb writer;
    void *writer_arg;
    enum fatal_action action;
    pid_t keep_running; /* a thread never frozen under FATAL_HOLD (the control loop) */
    atomic_int entered;
    atomic_int done;
    int wake[2];   /* faulting thread -> reporter */
    int report[2]; /* reporter -> faulting thread: report written */
    pid_t reporter_lwp;
    pthread_t reporter; /* valid when reporter_started */
    bool reporter_started;
    pid_t faulting_lwp;
    struct fatal_incident inc;
    char *arena; /* ARENA_SIZE bytes, or NULL */
    size_t arena_used;
} fs = {.wake = {-1, -1}, .report = {-1, -1}};

static __thread int tls_reporting;              /* this thread is writing a report */
static __thread unsigned long tls_alloc_failed; /* fatal_alloc() returned NULL */

/* malloc(), except in the reporter while it reports: then bump-allocated
 * from the reserved arena (NULL when that is spent: a report with holes
 * beats a reporter that hangs). */
/* How many of the calling thread's fatal_alloc() calls (cJSON's) have
 * failed: a document built between two readings that differ lacks parts. */
unsigned long fatal_alloc_failures(void)
{
    return tls_alloc_failed;
}

void *fatal_alloc(size_t size)
{
    size_t start = (fs.arena_used + 15) & ~(size_t)15;

    if (!tls_reporting) {
        void *p = malloc(size);

        tls_alloc_failed += p == NULL;
        return p;
    }
    if (!fs.arena || size > ARENA_SIZE - start)
        return NULL;
    fs.arena_used = start + size;
    return fs.arena + start;
}

/* free() for fatal_alloc()'s memory: arena memory is never reused. */
void fatal_free(void *p)
{
    if (fs.arena && (char *)p >= fs.arena && (char *)p < fs.arena + ARENA_SIZE)
        return;
    free(p);
}

/* PARTS joined, as one log line, when the log is a file (--log-file): on
 * stderr the caller has written its own "lwipd: ..." line already. */
static void log_parts(const char *const *parts, size_t n)
{
    char text[sizeof(fs.inc.message) + 640];
    size_t len = 0;

    if (log_to_stderr())
        return;
    for (size_t i = 0; i < n; i++)
        for (const char *c = parts[i]; c && *c && len + 1 < sizeof(text); c++)
            text[len++] = *c;
    text[len] = '\0';
    log_write_safe(LOG_CRIT, "fatal", text);
}

const char *const fatal_action_names[FATAL_HOLD + 1] = {
    [FATAL_EXIT] = "exit", [FATAL_ABORT] = "abort", [FATAL_HOLD] = "hold"};

const char *fatal_action_name(enum fatal_action a)
{
    return names_get(fatal_action_names, NAMES_COUNT(fatal_action_names), (unsigned)a);
}

/* Parse an action name. Returns 0 or -EINVAL (*OUT untouched). */
int fatal_action_parse(const char *s, enum fatal_action *out)
{
    unsigned v;
    int err = names_find(fatal_action_names, NAMES_COUNT(fatal_action_names), s, &v);

    if (err == 0)
        *out = (enum fatal_action)v;
    return err;
}

/* The stacks on stderr (names if the reporter found them). */
static void print_incident(void)
{
    fatal_stack_print(fs.inc.in_isr ? "ISR stack" : "stack", &fs.inc.current);
    fatal_stack_print(strcmp(fs.inc.kind, "signal") == 0 ? "faulting code" : "interrupted context",
                      &fs.inc.interrupted);
}

static void act(void)
{
    switch (fs.action) {
    case FATAL_ABORT:
        signal(SIGABRT, SIG_DFL);
        abort();
    case FATAL_HOLD:
        return;
    case FATAL_EXIT:
        break;
    }
    _exit(FATAL_EXIT_CODE);
}

static void *reporter_thread(void *arg)
{
    char path[512] = "";
    char c;

    (void)arg;
    thread_register_current("fatal-report");
    fs.reporter_lwp = base_gettid();
    while (read(fs.wake[0], &c, 1) != 1) {
        if (errno != EINTR)
            return NULL;
    }
    tls_reporting = 1;
    {
        pid_t skip[3] = {fs.reporter_lwp, fs.faulting_lwp,
                         fs.action == FATAL_HOLD ? fs.keep_running : 0};
        fatal_freeze_others(&fs.inc, skip, 3);
    }
    fatal_stack_symbolize(&fs.inc.current);
    fatal_stack_symbolize(&fs.inc.interrupted);
    for (int i = 0; i < fs.inc.nthreads; i++)
        fatal_stack_symbolize(&fs.inc.threads[i]);
    print_incident();
    if (fs.writer)
        fs.writer(fs.writer_arg, &fs.inc, path, sizeof(path));
    fatal_write_str("lwipd: report: ");
    fatal_write_str(path[0] ? path : "(none written)");
    fatal_write_str("\n");
    log_parts((const char *[]){"report: ", path[0] ? path : "(none written)"}, 2);
    atomic_store(&fs.done, 1);
    if (write(fs.report[1], "x", 1) < 0) {
        /* the faulting thread times out instead */
    }
    act();
    return NULL;
}

static void crash_handler(int sig, siginfo_t *si, void *uc);

/* Start the reporter thread and install the freeze handler (and the crash
 * handlers, unless sanitizers own those signals). Call once, early, before
 * other threads exist. Returns 0, or -errno when there is no reporter
 * (incidents are then reported on stderr only, with raw addresses). */
int fatal_init(void)
{
    struct sigaction sa;
    pthread_t tid;
    int err;
    unw_context_t ctx;
    unw_cursor_t cursor;

    /* Per-thread unwind caches keep unwinding signal-safe; prime it here. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unw_getcontext(&ctx);
    unw_init_local(&cursor, &ctx);
    unw_step(&cursor);

    /* Symbols and line tables loaded now, not while threads are frozen. */
    symbols_init();
    if (pipe2(fs.wake, O_CLOEXEC) != 0 || pipe2(fs.report, O_CLOEXEC) != 0)
        return -errno;
    fs.arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (fs.arena == MAP_FAILED)
        fs.arena = NULL;
    fatal_freeze_init();
    memset(&sa, 0, sizeof(sa));
    if (!HAVE_SANITIZER) {
        sa.sa_sigaction = crash_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGILL, &sa, NULL);
        sigaction(SIGFPE, &sa, NULL);
        sigaction(SIGABRT, &sa, NULL);
    }
    err = pthread_create(&tid, NULL, reporter_thread, NULL);
    if (err != 0)
        return -err;
    pthread_detach(tid);
    fs.reporter = tid;
    fs.reporter_started = true;
    return 0;
}

/* The reporter thread (started by fatal_init(), which it registers itself
 * a moment later): false when there is none. */
bool fatal_reporter_thread(pthread_t *out)
{
    if (!fs.reporter_started)
        return false;
    *out = fs.reporter;
    return true;
}

/* Who writes the report (WRITER(ARG, ...)), what happens afterwards, and
 * which thread keeps running under FATAL_HOLD. */
void fatal_configure(fatal_writer_cb writer, void *arg, enum fatal_action action,
                     pid_t keep_running)
{
    fs.writer = writer;
    fs.writer_arg = arg;
    fs.action = action;
    fs.keep_running = keep_running;
}

/* True once an incident has been reported (FATAL_HOLD keeps running). */
bool fatal_happened(void)
{
    return atomic_load(&fs.done);
}

/* First incident: fill the header. Later ones: freeze. */
static void incident_begin(const char *kind, const char *message)
{
    if (atomic_exchange(&fs.entered, 1) != 0)
        fatal_freeze_self();
    fs.faulting_lwp = base_gettid();
    fatal_copy_str(fs.inc.kind, kind, sizeof(fs.inc.kind));
    fatal_copy_str(fs.inc.message, message, sizeof(fs.inc.message));
    fs.inc.ts_ns = base_realtime_ns();
}

/* The headline: "FATAL kind: message", on stderr and in the log file. */
static void announce(void)
{
    fatal_write_str("lwipd: FATAL ");
    fatal_write_str(fs.inc.kind);
    fatal_write_str(": ");
    fatal_write_str(fs.inc.message);
    fatal_write_str("\n");
    log_parts((const char *[]){"FATAL ", fs.inc.kind, ": ", fs.inc.message}, 4);
}

/* Hand over to the reporter and wait for it (bounded). */
static void __attribute__((noreturn)) incident_finish(void)
{
    struct pollfd pfd = {.fd = fs.report[0], .events = POLLIN};

    announce();
    if (fs.wake[1] < 0 || write(fs.wake[1], "x", 1) != 1) {
        fatal_write_str("lwipd: no reporter thread\n");
        print_incident(); /* raw addresses only */
        act();
        fatal_freeze_self();
    }
    while (poll(&pfd, 1, REPORT_TIMEOUT_MS) < 0 && errno == EINTR)
        ;
    if (!atomic_load(&fs.done)) {
        fatal_write_str("lwipd: the report writer hung; stopping without it\n");
        log_parts((const char *[]){"the report writer hung; stopping without it"}, 1);
        print_incident();
        fs.action = fs.action == FATAL_HOLD ? FATAL_EXIT : fs.action;
        act();
    }
    /* FATAL_HOLD: this thread stays frozen; the reporter acted already. */
    fatal_freeze_self();
}

/* Report an incident of KIND from wherever it happened (any thread, ISR or
 * not) and stop according to the configured action. */
void fatal_report(const char *kind, const char *message)
{
    void *uc = irq_isr_ucontext();

    incident_begin(kind, message);
    fs.inc.in_isr = irq_in_isr();
    fatal_stack_capture(&fs.inc.current, fs.inc.in_isr && uc != NULL);
    if (fs.inc.in_isr && uc)
        fatal_stack_capture_uc(&fs.inc.interrupted, uc);
    incident_finish();
}

/* An ISR broke a rule under --irq-policy detect. UC: the interrupted
 * context's ucontext, NULL when the ISR was run at irq_enable(). */
void fatal_violation(const char *kind, const char *primitive, const char *object, void *uc)
{
    char msg[sizeof(fs.inc.message)];

    incident_begin("irq-violation", "");
    fatal_copy_str(fs.inc.violation, kind, sizeof(fs.inc.violation));
    fatal_copy_str(fs.inc.primitive, primitive, sizeof(fs.inc.primitive));
    fatal_copy_str(fs.inc.object, object, sizeof(fs.inc.object));
    snprintf(msg, sizeof(msg), "%s: %s on %s", kind, primitive, object ? object : "?");
    fatal_copy_str(fs.inc.message, msg, sizeof(fs.inc.message));
    fs.inc.in_isr = 1;
    fatal_stack_capture(&fs.inc.current, uc != NULL);
    if (uc)
        fatal_stack_capture_uc(&fs.inc.interrupted, uc);
    incident_finish();
}

/* The watchdog saw the stack stop (called from the watchdog thread): every
 * other thread is frozen and reported with its stack. Returns only under
 * FATAL_HOLD. */
void fatal_watchdog(const char *message)
{
    incident_begin("watchdog", message);
    fatal_stack_capture(&fs.inc.current, 0);
    announce();
    if (write(fs.wake[1], "x", 1) != 1)
        act();
    struct pollfd pfd = {.fd = fs.report[0], .events = POLLIN};
    while (poll(&pfd, 1, REPORT_TIMEOUT_MS) < 0 && errno == EINTR)
        ;
    if (!atomic_load(&fs.done) && fs.action != FATAL_HOLD)
        _exit(FATAL_EXIT_CODE);
}

/* An irq_violation_cb: under --irq-policy detect, the violation is an
 * incident (does not return); under the other policies nothing happens. */
void fatal_on_irq_violation(void *arg, enum irq_violation_kind kind, const char *primitive,
                            const char *object)
{
    (void)arg;
    if (irq_policy() == IRQ_POLICY_DETECT)
        fatal_violation(irq_violation_kind_name(kind), primitive, object, irq_isr_ucontext());
}

/* A fault hook of the emulated MCU (rtos_heap_fault_cb): an incident of KIND. */
void fatal_on_fault(void *arg, const char *kind, const char *message)
{
    (void)arg;
    fatal_report(kind, message);
}

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "%s at address %p%s", sigdescr_np(sig), si->si_addr,
             irq_in_isr() ? " (inside an ISR)" : "");
    incident_begin("signal", msg);
    fs.inc.in_isr = irq_in_isr();
    fatal_stack_capture(&fs.inc.current, 1);
    fatal_stack_capture_uc(&fs.inc.interrupted, uc);
    incident_finish();
}
