/* SPDX-License-Identifier: MIT */
/* lwipd default lwIP configuration: a capable Ethernet device, not a toy.
 *
 * Only overrides of lwIP's opt.h live here. Sizing follows from one rule: a
 * 256 KiB receive window of full-sized segments must fit in the RX pool, the
 * tcpip mailbox and the per-connection mailboxes at the same time, or TCP
 * stalls on retransmission timeouts (see shared/MEASURED.md). A small-MCU
 * profile is in port/opts/small; build with -Dlwipopts_dir=port/opts/small.
 */
#pragma once

#include "lwipd_config.h"

/* ---- system ----------------------------------------------------------- */
#define NO_SYS                  0
#define SYS_LIGHTWEIGHT_PROT    1
#define LWIP_TCPIP_CORE_LOCKING 1
/* The RX thread runs ethernet_input itself under the core lock instead of
 * posting each frame to the tcpip thread: one thread hop less per frame
 * (tcpip_input's two modes; the small profile keeps the message). */
#define LWIP_TCPIP_CORE_LOCKING_INPUT 1
#define LWIP_NETCONN_SEM_PER_THREAD   1
#define LWIP_NETCONN_FULLDUPLEX       LWIPD_NETCONN_FULLDUPLEX
#define LWIP_COMPAT_SOCKETS           0
#define LWIP_POSIX_SOCKETS_IO_NAMES   0
#define LWIP_SOCKET                   1
#define LWIP_NETCONN                  1
#define LWIP_SO_RCVTIMEO              1
#define LWIP_SO_SNDTIMEO              1
#define LWIP_SO_LINGER                1
#define LWIP_SO_RCVBUF                1
#define SO_REUSE                      1
#define LWIP_TCP_KEEPALIVE            1
#define LWIP_NETIF_LINK_CALLBACK      1
#define LWIP_NETIF_STATUS_CALLBACK    1
#define LWIP_NETIF_API                1
#define LWIP_DHCP                     1
#define LWIP_IGMP                     1
#define LWIP_RAW                      1
#define LWIP_IPV6                     0
#define LWIP_DNS                      0

/* ---- memory ----------------------------------------------------------- */
#define MEM_ALIGNMENT 8
#define MEM_SIZE      (8 * 1024 * 1024)
#include "port/heap_opts.h"

#define PBUF_POOL_SIZE           (4096 + IP_REASS_MAX_PBUFS) /* reassembly holds its own */
#define PBUF_POOL_BUFSIZE        1536
#define MEMP_NUM_PBUF            1024
#define MEMP_NUM_TCP_PCB         128
#define MEMP_NUM_TCP_PCB_LISTEN  16
#define MEMP_NUM_UDP_PCB         (32 + LWIPD_APPS_UDP_PCBS)
#define MEMP_NUM_RAW_PCB         8
#define MEMP_NUM_TCP_SEG         2048
#define MEMP_NUM_NETCONN         64
#define MEMP_NUM_NETBUF          256
#define MEMP_NUM_TCPIP_MSG_API   256
#define MEMP_NUM_TCPIP_MSG_INPKT 2048 /* used only with LWIP_TCPIP_CORE_LOCKING_INPUT 0 */
#define MEMP_NUM_SELECT_CB       16
#define MEMP_NUM_SYS_TIMEOUT                                                                       \
    (32 + LWIPD_APPS_SYS_TIMEOUTS) /* a number: 2.0.x has no LWIP_NUM_SYS_TIMEOUT_INTERNAL */
#define MEMP_NUM_ARP_QUEUE 64

/* Mailboxes: our sys_arch honours these sizes (contrib's caps at 128). */
#define TCPIP_MBOX_SIZE           4096
#define DEFAULT_RAW_RECVMBOX_SIZE 64
#define DEFAULT_UDP_RECVMBOX_SIZE 512
#define DEFAULT_TCP_RECVMBOX_SIZE 512
#define DEFAULT_ACCEPTMBOX_SIZE   64

/* ---- IP fragments ----------------------------------------------------- */
/* iperf3 -u -l goes up to 65507 bytes: 45 fragments at MTU 1500, 119 at
 * --mtu 576. Reassembly may hold IP_REASS_MAX_PBUFS pool pbufs (one per
 * fragment here: PBUF_POOL_BUFSIZE takes a whole frame) over
 * MEMP_NUM_REASSDATA datagrams at once; lwIP's 10 pbufs refuse anything
 * over 14792 bytes. A partial datagram (a fragment lost) goes after
 * IP_REASS_MAXAGE seconds rather than 15. Sending, every fragment keeps
 * a MEMP_NUM_FRAG_PBUF reference to the datagram until the TX ring has
 * sent it: enough for a full ring (--ring-size 256) and a datagram more;
 * lwIP's 15 cap fragmented UDP near 100 Mbit/s and refuse anything over
 * 20712 bytes. The limits iperf3's server checks -l against follow from
 * these (apps/iperf3/iperf3_params.c). */
#define IP_REASS_MAX_PBUFS 256
#define MEMP_NUM_REASSDATA 16
#define IP_REASS_MAXAGE    5
#define MEMP_NUM_FRAG_PBUF 512

/* ---- TCP -------------------------------------------------------------- */
#define TCP_MSS                    1460
#define LWIP_WND_SCALE             1
#define TCP_RCV_SCALE              2
#define TCP_WND                    (176 * TCP_MSS)
#define TCP_SND_BUF                (176 * TCP_MSS)
#define TCP_SND_QUEUELEN           (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT               (32 * 1024) /* lwIP: < 0xffff - 4 * MSS */
#define TCP_OVERSIZE               TCP_MSS
#define TCP_QUEUE_OOSEQ            1
#define LWIP_TCP_SACK_OUT          1
#define TCP_LISTEN_BACKLOG         1
#define TCP_DEFAULT_LISTEN_BACKLOG 64
#define LWIP_TCP_TIMESTAMPS        0

/* ---- Ethernet / ARP --------------------------------------------------- */
#define LWIP_ARP                      1
#define ARP_TABLE_SIZE                64
#define ARP_QUEUEING                  1
#define ETHARP_SUPPORT_STATIC_ENTRIES 1
#define LWIP_ETHERNET                 1
#define ETH_PAD_SIZE                  0

/* ---- statistics: lwipd needs every counter ----------------------------- */
#define LWIP_STATS         1
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS         1
#define ETHARP_STATS       1
#define IP_STATS           1
#define IPFRAG_STATS       1
#define ICMP_STATS         1
#define IGMP_STATS         1
#define UDP_STATS          1
#define TCP_STATS          1
#define MEM_STATS          1
#define MEMP_STATS         1
#define SYS_STATS          1
#define MIB2_STATS         1 /* TCP retransmissions, resets, ... */

/* ---- apps ------------------------------------------------------------- */
#define LWIPERF_CHECK_RX_DATA 0

/* ---- lwIP's own apps (-Dlwip_apps) ------------------------------------ */
#include "port/opts/apps.h"
