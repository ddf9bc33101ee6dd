/* SPDX-License-Identifier: MIT */
/* The thread registry: a list under one lock, one record per thread. */
#define _GNU_SOURCE
#include "base/thread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct thread_rec {
    struct thread_info info;
    char name[32];
    char alias[16]; /* a second name the thread is found by ("" none) */
    struct thread_rec *next;
};

static struct {
    pthread_mutex_t lock;
    struct thread_rec *head;
} reg = {PTHREAD_MUTEX_INITIALIZER, NULL};

/* Record the calling thread under NAME (also its pthread name), so it shows
 * up in watchdog and crash reports. The record lives until
 * thread_unregister_current() or exit. Returns 0 or -ENOMEM. */
int thread_register_current(const char *name)
{
    struct thread_rec *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->info.tid = pthread_self();
    t->info.lwp = base_gettid();
    t->info.name = t->name;
    pthread_setname_np(pthread_self(), t->name);
    pthread_mutex_lock(&reg.lock);
    t->next = reg.head;
    reg.head = t;
    pthread_mutex_unlock(&reg.lock);
    return 0;
}

/* Forget the calling thread's record (a thread that ends before the process
 * does). */
void thread_unregister_current(void)
{
    pid_t me = base_gettid();
    struct thread_rec **pp, *t = NULL;

    pthread_mutex_lock(&reg.lock);
    for (pp = &reg.head; *pp; pp = &(*pp)->next) {
        if ((*pp)->info.lwp == me) {
            t = *pp;
            *pp = t->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg.lock);
    free(t);
}

/* Let thread_find() also find the calling thread by ALIAS (lwIP's tcpip
 * thread is "tcpip" whatever TCPIP_THREAD_NAME is). No effect on a thread
 * that is not registered. */
void thread_alias_current(const char *alias)
{
    pid_t me = base_gettid();

    pthread_mutex_lock(&reg.lock);
    for (struct thread_rec *t = reg.head; t; t = t->next)
        if (t->info.lwp == me)
            snprintf(t->alias, sizeof(t->alias), "%s", alias);
    pthread_mutex_unlock(&reg.lock);
}

/* Call CB(ARG, thread) for every registered thread, under the registry lock. */
void thread_foreach(thread_cb cb, void *arg)
{
    pthread_mutex_lock(&reg.lock);
    for (struct thread_rec *t = reg.head; t; t = t->next)
        cb(arg, &t->info);
    pthread_mutex_unlock(&reg.lock);
}

/* Find a registered thread by name or alias. Returns 0 or -ESRCH. */
int thread_find(const char *name, pthread_t *out)
{
    int ret = -ESRCH;

    pthread_mutex_lock(&reg.lock);
    for (struct thread_rec *t = reg.head; t; t = t->next) {
        if (strcmp(t->alias, name) == 0 || strcmp(t->name, name) == 0) {
            *out = t->info.tid;
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&reg.lock);
    return ret;
}
