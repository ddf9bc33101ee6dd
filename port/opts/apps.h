/* SPDX-License-Identifier: MIT */
/* lwIP options for the apps built in with -Dlwip_apps, one block per app.
 *
 * lwipd's profiles include this at their end; meson's LWIPD_APP_<NAME>
 * (lwipd_config.h) turns each block on, so a build without an app carries
 * none of its options. A profile of your own that builds lwIP's apps sets
 * these in its lwipopts.h itself (apps/lwip_apps/ checks the ones the glue
 * cannot work without). Values a profile may already set are only given
 * when it did not; the app's timers and PCBs are added to the profile's
 * counts through LWIPD_APPS_SYS_TIMEOUTS and LWIPD_APPS_UDP_PCBS.
 */
#pragma once

#include "lwipd_config.h"

#define LWIPD_APPS_SYS_TIMEOUTS                                                                    \
    (LWIPD_APP_MDNS * 6 + LWIPD_APP_SNTP + LWIPD_APP_TFTP + LWIPD_APP_MQTT + LWIPD_APP_HTTPD)
#define LWIPD_APPS_UDP_PCBS (LWIPD_APP_MDNS + LWIPD_APP_SNTP + LWIPD_APP_TFTP)

#if LWIPD_APP_SNTP
/* lwIP hands the time it got here (seconds since 1970); apps/lwip_apps/
 * sntp_app.c keeps it for the stats. */
void lwipd_sntp_set_time(unsigned long sec);
#define SNTP_SET_SYSTEM_TIME(sec) lwipd_sntp_set_time((unsigned long)(sec))
#define SNTP_SERVER_DNS           0     /* --sntp names an address */
#define SNTP_STARTUP_DELAY        0     /* 2.2 waits up to 5 s at random by default */
#define SNTP_CHECK_RESPONSE       1     /* the reply's address and port must be the server's */
#define SNTP_UPDATE_DELAY         15000 /* lwIP's floor: a new query every 15 s */
#define SNTP_RECV_TIMEOUT         3000
#endif

#if LWIPD_APP_MDNS
#define LWIP_MDNS_RESPONDER 1
#ifndef LWIP_IGMP
#define LWIP_IGMP 1
#endif
#ifndef LWIP_NUM_NETIF_CLIENT_DATA
#define LWIP_NUM_NETIF_CLIENT_DATA 1 /* mdns keeps its per-netif state there */
#endif
#ifndef MDNS_MAX_SERVICES
#define MDNS_MAX_SERVICES 1
#endif
#endif

#if LWIPD_APP_TFTP
#define TFTP_MAX_FILENAME_LEN 64 /* lwIP's 20 is short for paths */
#endif

#if LWIPD_APP_MQTT
#ifndef MQTT_OUTPUT_RINGBUF_SIZE
#define MQTT_OUTPUT_RINGBUF_SIZE 512
#endif
#ifndef MQTT_REQ_MAX_IN_FLIGHT
#define MQTT_REQ_MAX_IN_FLIGHT 8
#endif
#endif

#if LWIPD_APP_HTTPD
/* fs_open_custom() (apps/lwip_apps/httpd_app.c) counts the files asked for
 * and serves none itself: lwIP's default fsdata answers. */
#define LWIP_HTTPD_CUSTOM_FILES 1
#ifndef LWIP_HTTPD_CGI
#define LWIP_HTTPD_CGI 0
#endif
#ifndef LWIP_HTTPD_SSI
#define LWIP_HTTPD_SSI 0
#endif
#endif
