/* SPDX-License-Identifier: MIT */
/* Driver bug modes (--driver-bug): their names, and the TX-complete ISR's
 * part of them. The modes break the driver contract on purpose, the way real
 * EMAC drivers have, so that the bug zoo can show what lwIP does then:
 *   tx-free-segments   TX completion frees every pbuf of a chain on its own
 *                      (tx_ring.c, free_segments)
 *   link-from-isr      the TX-complete ISR calls netif_set_link_down/up
 *                      itself, without the core lock (here)
 *   rx-no-refill       after one failed RX pbuf_alloc the RX path stops for
 *                      good, as a ring whose descriptor is never re-armed
 *                      (rx.c)
 *   free-callback-drop a pbuf_free_callback() that fails is not retried: the
 *                      pbuf is forgotten (tx_ring.c, ring_reclaim) */
#include "lwipd_config.h"
#include "netif_tap/netif_tap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lwip/netif.h"

#include "base/names.h"
#include "netif_tap/netif_tap_priv.h"

const char *const driver_bug_names[DRIVER_BUG_COUNT] = {
    "tx-free-segments",
    "link-from-isr",
    "rx-no-refill",
    "free-callback-drop",
};

/* Parse LIST, "none" or a comma list of mode names, into the bit set *OUT.
 * 0, or -EINVAL (*OUT untouched) on an unknown name or an empty item. */
int driver_bug_parse(const char *list, unsigned *out)
{
    unsigned bugs = 0;
    const char *s = list;

    if (strcmp(list, "none") == 0) {
        *out = 0;
        return 0;
    }
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char name[32];
        unsigned bit;

        if (len == 0 || len >= sizeof(name))
            return -EINVAL;
        memcpy(name, s, len);
        name[len] = '\0';
        if (names_find(driver_bug_names, DRIVER_BUG_COUNT, name, &bit))
            return -EINVAL;
        bugs |= 1u << bit;
        if (!comma)
            break;
        s = comma + 1;
    }
    *out = bugs;
    return 0;
}

/* Write the bit set BUGS as parse reads it ("none", or names with commas)
 * into BUF of LEN bytes. 0, or -ENOSPC when it does not fit (BUF holds a
 * cut string then). */
int driver_bug_format(unsigned bugs, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return -ENOSPC;
    buf[0] = '\0';
    if (bugs == 0)
        return snprintf(buf, len, "none") < (int)len ? 0 : -ENOSPC;
    for (unsigned i = 0; i < DRIVER_BUG_COUNT; i++) {
        int n;

        if (!(bugs & (1u << i)))
            continue;
        n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", driver_bug_names[i]);
        if (n < 0 || (size_t)n >= len - used)
            return -ENOSPC;
        used += (size_t)n;
    }
    return 0;
}

/* The driver's part of the TX-complete ISR (tx_ring_ops.isr), in the ISR.
 * DRIVER_BUG_LINK_FROM_ISR: every DRIVER_BUG_LINK_ISR_EVERY-th run, a PHY
 * "link changed" event handled in place: lwIP's link goes down and up from
 * the ISR, without the core lock and on top of whatever lwIP code the
 * interrupt stopped. Only lwIP's view changes (the host's carrier stays):
 * the point is the call, not the flap. */
void driver_bug_isr(struct netif_tap *t)
{
    if (!(t->cfg.driver_bugs & DRIVER_BUG_LINK_FROM_ISR))
        return;
    if (atomic_fetch_add(&t->bug_isr_runs, 1) % DRIVER_BUG_LINK_ISR_EVERY !=
        DRIVER_BUG_LINK_ISR_EVERY - 1)
        return;
    ctr_add(&t->ctr.bug_acts, 1);
    netif_set_link_down(&t->netif);
    netif_set_link_up(&t->netif);
}
