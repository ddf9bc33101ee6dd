/* SPDX-License-Identifier: MIT */
/* -Dheap=libc: lwIP's heap is glibc's malloc, behind wrappers that know
 * when a thread is inside it. glibc's arena lock is not recursive, so an ISR
 * that calls free() on top of code that is inside malloc()/free() would
 * deadlock or corrupt the arena; the wrapper reports that re-entry instead,
 * through the same policy as every ISR rule (--irq-policy). */
#include "lwipd_config.h"

#include <stdlib.h>

#include "mcu/heap_libc.h"
#include "mcu/irq.h"

static __thread volatile int tls_in_heap;

static void check_reentry(const char *primitive)
{
    if (irq_in_isr() && tls_in_heap)
        (void)irq_violation(IRQ_V_REENTRY, primitive, "libc heap (glibc arena lock)");
    /* rtos and posix policies: go on into glibc, as the board would */
}

void *heap_libc_malloc(size_t size)
{
    void *p;

    check_reentry("malloc");
    tls_in_heap++;
    p = malloc(size);
    tls_in_heap--;
    return p;
}

void *heap_libc_calloc(size_t count, size_t size)
{
    void *p;

    check_reentry("calloc");
    tls_in_heap++;
    p = calloc(count, size);
    tls_in_heap--;
    return p;
}

void heap_libc_free(void *p)
{
    check_reentry("free");
    tls_in_heap++;
    free(p);
    tls_in_heap--;
}
