/* SPDX-License-Identifier: MIT */
/* Small-MCU lwIP profile: the sizes of a Cortex-M board with tens of KiB for
 * the stack (close to lwIP's own defaults). Use it to see how your firmware's
 * configuration behaves: -Dlwipopts_dir=port/opts/small
 */
#pragma once

#include "lwipd_config.h"

#define NO_SYS                      0
#define SYS_LIGHTWEIGHT_PROT        1
#define LWIP_TCPIP_CORE_LOCKING     1
#define LWIP_NETCONN_SEM_PER_THREAD 1
#define LWIP_NETCONN_FULLDUPLEX     LWIPD_NETCONN_FULLDUPLEX
#define LWIP_COMPAT_SOCKETS         0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SOCKET                 1
#define LWIP_NETCONN                1
#define LWIP_SO_RCVTIMEO            1
#define LWIP_SO_SNDTIMEO            1
#define LWIP_SO_LINGER              1
#define SO_REUSE                    1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_API              1
#define LWIP_DHCP                   1
#define LWIP_IGMP                   1
#define LWIP_RAW                    1
#define LWIP_IPV6                   0
#define LWIP_DNS                    0

#define MEM_ALIGNMENT 4
#define MEM_SIZE      (16 * 1024)
#include "port/heap_opts.h"

#define PBUF_POOL_SIZE            16
#define MEMP_NUM_PBUF             16
#define MEMP_NUM_TCP_PCB          8
#define MEMP_NUM_TCP_SEG          32
#define MEMP_NUM_NETCONN          8
#define MEMP_NUM_SYS_TIMEOUT      (16 + LWIPD_APPS_SYS_TIMEOUTS)
#define MEMP_NUM_UDP_PCB          (4 + LWIPD_APPS_UDP_PCBS)
#define TCPIP_MBOX_SIZE           16
#define DEFAULT_UDP_RECVMBOX_SIZE 8
#define DEFAULT_TCP_RECVMBOX_SIZE 8
#define DEFAULT_ACCEPTMBOX_SIZE   8

#define TCP_MSS     536
#define TCP_WND     (4 * TCP_MSS)
#define TCP_SND_BUF (4 * TCP_MSS)

#define LWIP_STATS   1
#define LINK_STATS   1
#define ETHARP_STATS 1
#define IP_STATS     1
#define ICMP_STATS   1
#define UDP_STATS    1
#define TCP_STATS    1
#define MEM_STATS    1
#define MEMP_STATS   1
#define SYS_STATS    1

/* ---- lwIP's own apps (-Dlwip_apps) ------------------------------------ */
#include "port/opts/apps.h"
