/* SPDX-License-Identifier: MIT */
/* The lwIP asserts fuzz_frame knows.
 *
 * lwIP asserts already triaged as lwIP's own bugs (an open finding, or a
 * bug fixed in a later lwIP release that older ones still have), which the
 * fuzzer keeps finding: so that an unattended run (CI) stops only on
 * something new, fuzz_frame counts them and
 *   KNOWN_PASS  returns into lwIP, which then goes on as a build without
 *               asserts would (checked: the NAME.known-assert inputs in
 *               tests/fuzz/regressions/frame replay clean under ASan and
 *               UBSan past them);
 *   KNOWN_END   where going on is not safe (a double free follows), ends
 *               the process with KNOWN_END_STATUS and a line saying so;
 *               scripts/fuzz starts the fuzzer again for the time left.
 * Keyed on the file, its line in that lwIP minor release and the message
 * (and, for a generic assert, the lwIP function it must happen under).
 * Only this harness has such a list: lwipd's own port_assert aborts on
 * every assert. FUZZ_FRAME_STRICT=1 turns it off, to see such an input
 * crash. */
#include "lwipd_config.h"
#include "known_asserts.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/pbuf.h"

struct known_assert {
    int minor; /* LWIP_VERSION_MINOR (2.x) whose line this is */
    int line;
    const char *file; /* path in the lwIP tree */
    const char *msg;
    enum known_action action;
    const bool *within; /* must be set (an lwIP call in progress), or NULL */
    const char *finding;
    unsigned long hits;
};

static bool in_ip4_reass; /* __wrap_ip4_reass() is running */
static bool strict;       /* FUZZ_FRAME_STRICT set: no assert is known */

#define OVERSIZE_DOC "doc/findings/tcp-write-oversize-assert.md"
#define DHCP_FIX     "fixed in lwIP 2.1.3"
#define REASS_FIX    "fixed in lwIP 2.1.0"
#define FIN_FIX      "fixed in lwIP 2.2.0"
static struct known_assert known_asserts[] = {
    /* tcp_write(): the unsent queue was built for a bigger MSS than the
     * current one (a window that opened from 0 to under 2 MSS, an MSS
     * option on a segment other than a SYN); "vs. len" follows "vs.
     * space" in the same call once the smaller segment is full. */
    {0, 455, "src/core/tcp_out.c", "mss_local is too small", KNOWN_PASS, NULL, OVERSIZE_DOC, 0},
    {0, 473, "src/core/tcp_out.c", "inconsistent oversize vs. space", KNOWN_PASS, NULL,
     OVERSIZE_DOC, 0},
    {0, 481, "src/core/tcp_out.c", "inconsistent oversize vs. len", KNOWN_PASS, NULL, OVERSIZE_DOC,
     0},
    {1, 486, "src/core/tcp_out.c", "mss_local is too small", KNOWN_PASS, NULL, OVERSIZE_DOC, 0},
    {1, 504, "src/core/tcp_out.c", "inconsistent oversize vs. space", KNOWN_PASS, NULL,
     OVERSIZE_DOC, 0},
    {1, 512, "src/core/tcp_out.c", "inconsistent oversize vs. len", KNOWN_PASS, NULL, OVERSIZE_DOC,
     0},
    {2, 489, "src/core/tcp_out.c", "mss_local is too small", KNOWN_PASS, NULL, OVERSIZE_DOC, 0},
    {2, 507, "src/core/tcp_out.c", "inconsistent oversize vs. space", KNOWN_PASS, NULL,
     OVERSIZE_DOC, 0},
    {2, 515, "src/core/tcp_out.c", "inconsistent oversize vs. len", KNOWN_PASS, NULL, OVERSIZE_DOC,
     0},
    /* 2.0.x: dhcp_parse_reply() asserts (LWIP_ERROR) on a reply whose
     * option has the wrong length, then drops it; lwIP 2.1.3 drops it
     * without the assert (regression dhcp-subnet-mask-len.fixed-in-2.1.3):
     * all 16 of them. 2.1.0-2.1.2 have them too, at other lines, not
     * fuzzed in CI; 2.0.2's "next pbuf was null" is an LWIP_ASSERT that
     * goes on to a NULL pointer (a crash still). */
    {0, 1526, "src/core/ipv4/dhcp.c", "len == 4", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1531, "src/core/ipv4/dhcp.c", "len >= decode_len", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1537, "src/core/ipv4/dhcp.c", "len %% 4 == 0", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1540, "src/core/ipv4/dhcp.c", "len >= decode_len", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1545, "src/core/ipv4/dhcp.c", "len == 4", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1551, "src/core/ipv4/dhcp.c", "len %% 4 == 0", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1554, "src/core/ipv4/dhcp.c", "len >= decode_len", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1559, "src/core/ipv4/dhcp.c", "len == 1", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1561, "src/core/ipv4/dhcp.c", "overload in file/sname", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1565, "src/core/ipv4/dhcp.c", "len == 1", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1569, "src/core/ipv4/dhcp.c", "len == 4", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1573, "src/core/ipv4/dhcp.c", "len == 4", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1577, "src/core/ipv4/dhcp.c", "len == 4", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1598, "src/core/ipv4/dhcp.c", "decode_len %% 4 == 0", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1608, "src/core/ipv4/dhcp.c", "invalid decode_len", KNOWN_PASS, NULL, DHCP_FIX, 0},
    {0, 1620, "src/core/ipv4/dhcp.c", "next pbuf was null", KNOWN_PASS, NULL, DHCP_FIX, 0},
    /* Not safe to go on past: the input is abandoned. 2.0.x frees a pbuf
     * twice in ip4_reass() on a duplicate fragment (regression
     * ip4-reass-duplicate-fragment.fixed-in-2.1.0); 2.0.x and 2.1.x take
     * a FIN 2^31 behind the window for data (tcp-seq-half-space-fin.
     * fixed-in-2.2.0; 2.0.x's UBSan report comes first, not listed). */
    {0, 747, "src/core/pbuf.c", "pbuf_free: p->ref > 0", KNOWN_END, &in_ip4_reass, REASS_FIX, 0},
    {1, 1430, "src/core/tcp_in.c", "insane offset!", KNOWN_END, NULL, FIN_FIX, 0},
};
#define KNOWN_ASSERTS (sizeof(known_asserts) / sizeof(known_asserts[0]))

/* The entry of known_asserts[] that MSG at FILE:LINE is, or NULL. */
static struct known_assert *known_assert_find(const char *msg, int line, const char *file)
{
    size_t flen = strlen(file);

    for (size_t i = 0; i < KNOWN_ASSERTS; i++) {
        struct known_assert *k = &known_asserts[i];
        size_t klen = strlen(k->file);

        if (k->minor == LWIP_VERSION_MINOR && k->line == line && strcmp(k->msg, msg) == 0 &&
            flen >= klen && strcmp(file + flen - klen, k->file) == 0 &&
            (flen == klen || file[flen - klen - 1] == '/') && (!k->within || *k->within))
            return k;
    }
    return NULL;
}

/* STRICT: know no assert, every one is a crash (FUZZ_FRAME_STRICT). */
void known_asserts_init(bool strict_)
{
    strict = strict_;
}

/* What to do about lwIP's assert MSG at FILE:LINE; counted when known. */
enum known_action known_asserts_check(const char *msg, int line, const char *file)
{
    struct known_assert *k = strict ? NULL : known_assert_find(msg, line, file);

    if (!k)
        return KNOWN_NONE;
    k->hits++;
    return k->action;
}

/* Print INPUTS_RUN and how often each known assert was met (at exit, and
 * before a KNOWN_END exit; scripts/fuzz adds up the lines of its runs). */
void known_asserts_report(unsigned long inputs_run)
{
    unsigned long total = 0;

    for (size_t i = 0; i < KNOWN_ASSERTS; i++)
        total += known_asserts[i].hits;
    fprintf(stderr, "fuzz_frame: inputs run: %lu\n", inputs_run);
    fprintf(stderr, "fuzz_frame: known lwIP asserts met: %lu\n", total);
    for (size_t i = 0; i < KNOWN_ASSERTS; i++) {
        const struct known_assert *k = &known_asserts[i];
        if (k->hits)
            fprintf(stderr, "fuzz_frame:   %lu x \"%s\" (%s:%d; %s)\n", k->hits, k->msg, k->file,
                    k->line, k->finding);
    }
}

struct pbuf *__real_ip4_reass(struct pbuf *p);
struct pbuf *__wrap_ip4_reass(struct pbuf *p);

/* lwIP's ip4_reass(), noted as running (the linker routes calls here). */
struct pbuf *__wrap_ip4_reass(struct pbuf *p)
{
    struct pbuf *r;

    in_ip4_reass = true;
    r = __real_ip4_reass(p);
    in_ip4_reass = false;
    return r;
}
