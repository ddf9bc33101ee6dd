/* SPDX-License-Identifier: MIT */
/* Services of lwipd's port beyond lwIP's sys_arch API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sys_mutex;

void *port_calloc(size_t n, size_t size);
void port_free(void *p);
pid_t port_mutex_owner(struct sys_mutex *const *mutex, bool last);
bool port_mutex_claim(struct sys_mutex *const *mutex);
void port_mutex_unclaim(struct sys_mutex *const *mutex);
bool port_mutex_held_by_me(struct sys_mutex *const *mutex);
