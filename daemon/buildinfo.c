/* SPDX-License-Identifier: MIT */
/* Build facts, from lwipd_config.h (meson) and lwIP's own opt.h values. */
#include "lwipd_config.h"
#include "daemon/buildinfo.h"

#include <cjson/cJSON.h>
#include <inttypes.h>

/* opt.h before init.h: init.h includes opt.h before it defines the version,
 * so port/heap_opts.h (reached through opt.h) would see no version and pick
 * 2.0/2.1's heap hooks (MEM_LIBC_MALLOC=1) on 2.2, unlike lwIP's mem.c. */
#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/pbuf.h" /* PBUF_POOL_BUFSIZE may be defined in terms of its header sizes */
#include "lwipd/app.h" /* the app API version and the lwIP ABI fingerprint */

#define STR_(x) #x
#define STR(x)  STR_(x)

/* The options worth knowing when reading a report, as name/value pairs. */
static const struct {
    const char *name;
    long value;
} lwip_opts[] = {
    {"TCP_MSS", TCP_MSS},
    {"TCP_WND", (long)TCP_WND},
    {"TCP_SND_BUF", (long)TCP_SND_BUF},
    {"TCP_SND_QUEUELEN", TCP_SND_QUEUELEN},
    {"LWIP_WND_SCALE", LWIP_WND_SCALE},
    {"MEM_SIZE", MEM_SIZE},
    {"MEM_LIBC_MALLOC", MEM_LIBC_MALLOC},
#ifdef MEM_CUSTOM_ALLOCATOR /* 2.2+: the libc and rtos heaps use it (MEM_LIBC_MALLOC stays 0) */
    {"MEM_CUSTOM_ALLOCATOR", MEM_CUSTOM_ALLOCATOR},
#endif
    {"MEM_USE_POOLS", MEM_USE_POOLS},
    {"LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT", LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT},
#ifdef MEM_SANITY_CHECK /* 2.1+ */
    {"MEM_SANITY_CHECK", MEM_SANITY_CHECK},
#endif
    {"MEMP_SANITY_CHECK", MEMP_SANITY_CHECK},
    {"PBUF_POOL_SIZE", PBUF_POOL_SIZE},
    {"PBUF_POOL_BUFSIZE", PBUF_POOL_BUFSIZE},
    {"MEMP_NUM_TCP_PCB", MEMP_NUM_TCP_PCB},
    {"MEMP_NUM_TCP_PCB_LISTEN", MEMP_NUM_TCP_PCB_LISTEN},
    {"MEMP_NUM_UDP_PCB", MEMP_NUM_UDP_PCB},
    {"MEMP_NUM_TCP_SEG", MEMP_NUM_TCP_SEG},
    {"MEMP_NUM_NETCONN", MEMP_NUM_NETCONN},
    {"TCPIP_MBOX_SIZE", TCPIP_MBOX_SIZE},
    {"LWIP_TCPIP_CORE_LOCKING", LWIP_TCPIP_CORE_LOCKING},
    {"LWIP_NETCONN_FULLDUPLEX", LWIP_NETCONN_FULLDUPLEX},
    {"LWIP_NETCONN_SEM_PER_THREAD", LWIP_NETCONN_SEM_PER_THREAD},
/* SACK exists from 2.1 on, whatever lwipopts.h says */
#if LWIP_VERSION_MAJOR * 100 + LWIP_VERSION_MINOR >= 201
    {"LWIP_TCP_SACK_OUT", LWIP_TCP_SACK_OUT},
#endif
    {"ARP_TABLE_SIZE", ARP_TABLE_SIZE},
    {"LWIP_DHCP", LWIP_DHCP},
#ifdef LWIP_ACD /* 2.2+: with ACD, a static address gets no gratuitous ARP on link up */
    {"LWIP_ACD", LWIP_ACD},
#endif
    /* The feature switches and limits the integration tests depend on: a
     * test whose feature a profile turns off is skipped naming the switch
     * (PROFILE_NEEDS in tests/integration/conftest.py). */
    {"LWIP_IPV6", LWIP_IPV6},
    {"LWIP_ICMP", LWIP_ICMP},
    {"LWIP_RAW", LWIP_RAW},
    {"LWIP_UDP", LWIP_UDP},
    {"LWIP_TCP", LWIP_TCP},
    {"LWIP_IGMP", LWIP_IGMP},
    {"LWIP_NETCONN", LWIP_NETCONN},
    {"LWIP_SOCKET", LWIP_SOCKET},
    {"LWIP_STATS", LWIP_STATS},
    {"MIB2_STATS", MIB2_STATS},
    {"IP_REASSEMBLY", IP_REASSEMBLY},
    {"IP_FRAG", IP_FRAG},
    {"IP_REASS_MAX_PBUFS", IP_REASS_MAX_PBUFS},
    {"MEMP_NUM_REASSDATA", MEMP_NUM_REASSDATA},
    {"TCP_QUEUE_OOSEQ", TCP_QUEUE_OOSEQ},
    {"MEMP_NUM_PBUF", MEMP_NUM_PBUF},
    {"MEMP_NUM_TCPIP_MSG_INPKT", MEMP_NUM_TCPIP_MSG_INPKT},
    {"MEMP_NUM_RAW_PCB", MEMP_NUM_RAW_PCB},
    {"MEMP_NUM_NETBUF", MEMP_NUM_NETBUF},
    {"MEMP_NUM_ARP_QUEUE", MEMP_NUM_ARP_QUEUE},
    {"ARP_QUEUEING", ARP_QUEUEING},
    {"DEFAULT_UDP_RECVMBOX_SIZE", DEFAULT_UDP_RECVMBOX_SIZE},
    {"DEFAULT_TCP_RECVMBOX_SIZE", DEFAULT_TCP_RECVMBOX_SIZE},
    {"DEFAULT_ACCEPTMBOX_SIZE", DEFAULT_ACCEPTMBOX_SIZE},
};

const char *buildinfo_lwip_version(void)
{
    return STR(LWIP_VERSION_MAJOR) "." STR(LWIP_VERSION_MINOR) "." STR(LWIP_VERSION_REVISION);
}

const char *buildinfo_heap(void)
{
    return LWIPD_HEAP_NAME;
}

void buildinfo_print(FILE *out)
{
    fprintf(out, "lwipd %s\nlwIP %s (%s)\nheap: %s\nlwipopts: %s\nsanitizers: %s\nlwIP apps: %s\n",
            LWIPD_VERSION, buildinfo_lwip_version(), LWIPD_LWIP_SRC, buildinfo_heap(),
            LWIPD_LWIPOPTS_DIR, LWIPD_SANITIZE, *LWIPD_LWIP_APPS ? LWIPD_LWIP_APPS : "(none)");
    fprintf(out, "app API: %d, lwIP ABI fingerprint %016" PRIx64 "\n", LWIPD_APP_API_VERSION,
            (uint64_t)LWIPD_APP_ABI_FINGERPRINT);
    for (size_t i = 0; i < sizeof(lwip_opts) / sizeof(lwip_opts[0]); i++)
        fprintf(out, "  %s=%ld\n", lwip_opts[i].name, lwip_opts[i].value);
}

/* {"lwipd":..., "lwip":..., "heap":..., "options":{...}}; NULL on OOM. */
cJSON *buildinfo_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *opts = cJSON_CreateObject();
    char fp[24];

    if (!o || !opts) {
        cJSON_Delete(o);
        cJSON_Delete(opts);
        return NULL;
    }
    cJSON_AddStringToObject(o, "lwipd", LWIPD_VERSION);
    cJSON_AddStringToObject(o, "lwip", buildinfo_lwip_version());
    cJSON_AddStringToObject(o, "lwip_src", LWIPD_LWIP_SRC);
    cJSON_AddStringToObject(o, "lwipopts", LWIPD_LWIPOPTS_DIR);
    cJSON_AddStringToObject(o, "heap", buildinfo_heap());
    cJSON_AddStringToObject(o, "sanitizers", LWIPD_SANITIZE);
    cJSON_AddStringToObject(o, "lwip_apps", LWIPD_LWIP_APPS); /* comma list, "" for none */
    snprintf(fp, sizeof(fp), "%016" PRIx64, (uint64_t)LWIPD_APP_ABI_FINGERPRINT);
    cJSON_AddNumberToObject(o, "app_api", LWIPD_APP_API_VERSION);
    cJSON_AddStringToObject(o, "app_abi_fingerprint", fp);
    for (size_t i = 0; i < sizeof(lwip_opts) / sizeof(lwip_opts[0]); i++)
        cJSON_AddNumberToObject(opts, lwip_opts[i].name, (double)lwip_opts[i].value);
    cJSON_AddItemToObject(o, "options", opts);
    return o;
}
