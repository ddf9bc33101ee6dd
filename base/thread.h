/* SPDX-License-Identifier: MIT */
/* The thread registry: every thread lwipd makes, by name, for the watchdog,
 * crash reports and --single-core. */
#pragma once

#include <pthread.h>
#include <sys/types.h>

/* One registered thread (every sys_thread_new() thread, plus main). */
struct thread_info {
    pthread_t tid;
    pid_t lwp;
    const char *name;
};

typedef void (*thread_cb)(void *arg, const struct thread_info *t);

int thread_register_current(const char *name);
void thread_unregister_current(void);
void thread_alias_current(const char *alias);
void thread_foreach(thread_cb cb, void *arg);
int thread_find(const char *name, pthread_t *out);
