/* SPDX-License-Identifier: MIT */
/* Heap pools for -Dheap=pools (MEM_USE_POOLS): mem_malloc() takes the
 * smallest pool element that fits. Sized for lwipd's default profile: TCP
 * headers and ACKs, ARP, ICMP, UDP echo, full segments. */
LWIP_MALLOC_MEMPOOL_START
LWIP_MALLOC_MEMPOOL(1024, 256)
LWIP_MALLOC_MEMPOOL(512, 640)
LWIP_MALLOC_MEMPOOL(2048, 1664)
LWIP_MALLOC_MEMPOOL(64, 9216)
LWIP_MALLOC_MEMPOOL_END
