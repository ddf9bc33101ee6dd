/* SPDX-License-Identifier: MIT */
/* Vendor-SDK lwIP profile: the shape of the lwipopts.h a microcontroller
 * vendor's project generator writes for a Cortex-M part with an Ethernet MAC:
 * a heap of a few KiB (lwIP's own mem.c, MEM_LIBC_MALLOC 0), pools of ten
 * or so, full-size segments with a window of four of them, the sockets API on
 * and netconns that are not full-duplex (one thread per socket, the SDK
 * default). Use it to run lwipd's suite against such a configuration:
 * scripts/test --lwipopts port/opts/vendor (-Dlwipopts_dir=port/opts/vendor)
 */
#pragma once

#include "lwipd_config.h"

/* ---- OS and APIs ------------------------------------------------------ */
#define NO_SYS                      0
#define SYS_LIGHTWEIGHT_PROT        1
#define LWIP_TCPIP_CORE_LOCKING     1
#define LWIP_NETCONN_SEM_PER_THREAD 0
#define LWIP_NETCONN_FULLDUPLEX     0
#define LWIP_SOCKET                 1
#define LWIP_NETCONN                1
#define LWIP_COMPAT_SOCKETS         0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SO_RCVTIMEO            1
#define LWIP_SO_SNDTIMEO            1
#define LWIP_SO_LINGER              1
#define SO_REUSE                    1
#define LWIP_NETIF_API              1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_DHCP                   1
#define LWIP_IGMP                   1
#define LWIP_RAW                    1
#define LWIP_IPV6                   0
#define LWIP_DNS                    0

/* ---- memory: a few KiB of heap, pools of about ten -------------------- */
#define MEM_ALIGNMENT   4
#define MEM_LIBC_MALLOC 0
#define MEM_SIZE        (24 * 1024)
#include "port/heap_opts.h"

#define PBUF_POOL_SIZE          12
#define MEMP_NUM_PBUF           16
#define MEMP_NUM_TCP_PCB        10
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_UDP_PCB        (6 + LWIPD_APPS_UDP_PCBS)
#define MEMP_NUM_RAW_PCB        4
#define MEMP_NUM_TCP_SEG        (2 * TCP_SND_QUEUELEN)
#define MEMP_NUM_NETCONN        10
#define MEMP_NUM_NETBUF         8
#define MEMP_NUM_TCPIP_MSG_API  8
#define MEMP_NUM_SELECT_CB      4
#define MEMP_NUM_SYS_TIMEOUT    (12 + LWIPD_APPS_SYS_TIMEOUTS)
#define MEMP_NUM_ARP_QUEUE      10

#define TCPIP_MBOX_SIZE           16
#define DEFAULT_RAW_RECVMBOX_SIZE 6
#define DEFAULT_UDP_RECVMBOX_SIZE 6
#define DEFAULT_TCP_RECVMBOX_SIZE 6
#define DEFAULT_ACCEPTMBOX_SIZE   6

/* ---- TCP: full segments, a window of four ----------------------------- */
#define TCP_MSS          1460
#define TCP_WND          (4 * TCP_MSS)
#define TCP_SND_BUF      (4 * TCP_MSS)
#define TCP_SND_QUEUELEN (2 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ  1

/* ---- Ethernet / ARP --------------------------------------------------- */
#define ARP_TABLE_SIZE 10
#define ARP_QUEUEING   1

/* ---- statistics: lwipd reads every counter ---------------------------- */
#define LWIP_STATS   1
#define LINK_STATS   1
#define ETHARP_STATS 1
#define IP_STATS     1
#define IPFRAG_STATS 1
#define ICMP_STATS   1
#define IGMP_STATS   1
#define UDP_STATS    1
#define TCP_STATS    1
#define MEM_STATS    1
#define MEMP_STATS   1
#define SYS_STATS    1
#define MIB2_STATS   1

/* ---- lwIP's own apps (-Dlwip_apps) ------------------------------------ */
#include "port/opts/apps.h"
