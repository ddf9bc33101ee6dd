/* SPDX-License-Identifier: MIT */
/* lwIP sys_arch types for lwipd's port (NO_SYS=0): see port/sys_arch.c. */
#pragma once

struct sys_sem;
struct mutex; /* mcu/mutex.h: the owner-word mutex */
struct sys_mbox;
struct sys_thread;

typedef struct sys_sem *sys_sem_t;
typedef struct mutex *sys_mutex_t;
typedef struct sys_mbox *sys_mbox_t;
typedef struct sys_thread *sys_thread_t;

#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL  NULL

/* LWIP_NETCONN_SEM_PER_THREAD: one semaphore per thread, made on first use. */
sys_sem_t *sys_arch_netconn_sem_get(void);
void sys_arch_netconn_sem_alloc(void);
void sys_arch_netconn_sem_free(void);
#define LWIP_NETCONN_THREAD_SEM_GET()   sys_arch_netconn_sem_get()
#define LWIP_NETCONN_THREAD_SEM_ALLOC() sys_arch_netconn_sem_alloc()
#define LWIP_NETCONN_THREAD_SEM_FREE()  sys_arch_netconn_sem_free()

/* SYS_ARCH_PROTECT's saved state: unused, nesting is counted per thread. */
typedef int sys_prot_t;
