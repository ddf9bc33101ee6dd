/* SPDX-License-Identifier: MIT */
/* Services of lwipd's port beyond lwIP's sys_arch API. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sys_mutex;

/* One registered thread (every sys_thread_new() thread, plus main). */
struct port_thread_info {
    pthread_t tid;
    pid_t lwp;
    const char *name;
};

typedef void (*port_thread_cb)(const struct port_thread_info *t, void *arg);

pid_t port_gettid(void);
void *port_calloc(size_t n, size_t size);
void port_free(void *p);
uint64_t port_now_ns(void);
void port_thread_register_current(const char *name);
void port_thread_unregister_current(void);
void port_thread_foreach(port_thread_cb cb, void *arg);
int port_thread_find(const char *name, pthread_t *out);
pid_t port_mutex_owner(struct sys_mutex *const *mutex, bool last);
bool port_mutex_claim(struct sys_mutex *const *mutex);
void port_mutex_unclaim(struct sys_mutex *const *mutex);
bool port_mutex_held_by_me(struct sys_mutex *const *mutex);
