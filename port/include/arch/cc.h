/* SPDX-License-Identifier: MIT */
/* lwIP compiler/platform glue for lwipd on Linux (x86_64, aarch64). */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <sys/time.h> /* struct timeval and glibc's fd_set for lwip_select() */
#include <errno.h>

#include "lwipd_config.h"

#define LWIP_TIMEVAL_PRIVATE 0
/* errno: lwIP 2.1+ reads LWIP_ERRNO_STDINCLUDE, 2.0.x reads LWIP_ERRNO_INCLUDE. */
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_ERRNO_INCLUDE    "errno.h" /* a string: <errno.h> would expand errno */

void port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Never returns in lwipd. The fuzz build (-Dfuzz=true) declares it without
 * noreturn because the frame harness wraps it and returns from the lwIP
 * asserts it knows (tests/fuzz/fuzz_frame.c): lwIP then goes on as a build
 * without asserts would, instead of into code the compiler left out. */
#if LWIPD_FUZZ
void port_assert(const char *msg, int line, const char *file);
#else
void port_assert(const char *msg, int line, const char *file) __attribute__((noreturn));
#endif
uint32_t port_rand(void);

#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        port_diag x;                                                                               \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) port_assert((x), __LINE__, __FILE__)
#define LWIP_RAND()             port_rand()

/* Thread-safety checks lwIP 2.1+ offers; implemented in port/sys_arch.c. */
void sys_check_core_locking(void);
void sys_mark_tcpip_thread(void);
#define LWIP_ASSERT_CORE_LOCKED() sys_check_core_locking()
#define LWIP_MARK_TCPIP_THREAD()  sys_mark_tcpip_thread()
