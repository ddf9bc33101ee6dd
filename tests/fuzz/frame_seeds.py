#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of fuzz_frame (tests/fuzz/fuzz_frame.c explains the
format) into tests/fuzz/corpus/frame/: ARP, ICMP echo, TCP to the echo
service (SYN, a whole session, options), UDP echo, a DHCP exchange, an IGMP
query, IPv4 fragments.

    tests/fuzz/frame_seeds.py [DIR]

Addresses: lwIP is 198.18.0.2 (02:4c:57:49:50:02), the peer 198.18.0.1.
Checksums are computed here too, so the seeds are right frames even where
the harness leaves checksums alone (fragments)."""
import os
import struct
import sys

LWIP_MAC = bytes.fromhex('024c57495002')
PEER_MAC = bytes.fromhex('020000000001')
BCAST = b'\xff' * 6
LWIP_IP = bytes([198, 18, 0, 2])
PEER_IP = bytes([198, 18, 0, 1])
ISN = 0x00010000  # the harness's fixed ISN for lwIP's SYN-ACKs
DHCP_XID = 0xf2648ede  # lwIP's first DHCP xid in the harness (FUZZ_FRAME_INFO=1)


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def eth(dst, typ, payload, src=PEER_MAC):
    return dst + src + struct.pack('!H', typ) + payload


def ipv4(proto, payload, src=PEER_IP, dst=LWIP_IP, ident=1, frag=0, ttl=64, opts=b'',
         tot=None):
    ihl = 5 + len(opts) // 4
    tot = tot if tot is not None else ihl * 4 + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, tot, ident, frag, ttl, proto, 0, src, dst)
    h += opts
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def l4sum(proto, seg, src=PEER_IP, dst=LWIP_IP):
    return csum(src + dst + struct.pack('!BBH', 0, proto, len(seg)) + seg)


def tcp(sport, dport, seq, ack, flags, data=b'', opts=b'', win=8192):
    off = (20 + len(opts)) // 4
    seg = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags, win, 0, 0)
    seg += opts + data
    c = l4sum(6, seg)
    return eth(LWIP_MAC, 0x0800, ipv4(6, seg[:16] + struct.pack('!H', c) + seg[18:]))


def udp(sport, dport, data, src=PEER_IP, dst=LWIP_IP, dmac=LWIP_MAC):
    seg = struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data
    c = l4sum(17, seg, src, dst) or 0xffff
    return eth(dmac, 0x0800, ipv4(17, seg[:6] + struct.pack('!H', c) + seg[8:], src, dst))


def icmp_echo(ident=1, seq=1, data=b'lwipd fuzz seed'):
    m = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + data
    return m[:2] + struct.pack('!H', csum(m)) + m[4:]


def arp(op, tip=LWIP_IP, dmac=BCAST, tmac=b'\0' * 6):
    body = struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + PEER_MAC + PEER_IP + tmac + tip
    return eth(dmac, 0x0806, body)


def dhcp(msgtype, yiaddr=LWIP_IP):
    bootp = struct.pack('!BBBBIHH4s4s4s4s', 2, 1, 6, 0, DHCP_XID, 0, 0, b'\0' * 4, yiaddr,
                        PEER_IP, b'\0' * 4)
    bootp += LWIP_MAC + b'\0' * 10 + b'\0' * 192 + bytes([99, 130, 83, 99])
    opts = bytes([53, 1, msgtype, 54, 4]) + PEER_IP + bytes([51, 4, 0, 0, 14, 16])
    opts += bytes([1, 4, 255, 255, 255, 0, 3, 4]) + PEER_IP + bytes([6, 4]) + PEER_IP
    opts += bytes([58, 4, 0, 0, 7, 8, 255])
    return udp(67, 68, bootp + opts, dst=b'\xff' * 4, dmac=BCAST)


# ---- the input format ------------------------------------------------------

def frame(f, raw=False):
    assert len(f) < 0x2000
    return bytes([(0x20 if raw else 0) | len(f) >> 8, len(f) & 0xff]) + f


def ms(n):
    """Advance the clock about N ms (10 ms units, or whole seconds)."""
    out = b''
    while n >= 1000:
        k = min(n // 1000, 128)
        out += bytes([0x7f + k])
        n -= k * 1000
    while n >= 10:
        k = min(n // 10, 64)
        out += bytes([0x3f + k])
        n -= k * 10
    return out


def seq(*parts, faults=0):
    return bytes([faults]) + b''.join(parts)


def seeds():
    arp_req = frame(arp(1))
    syn_opts = bytes([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
    s = {}
    s['arp_request'] = seq(arp_req)
    s['arp_reply_gratuitous'] = seq(frame(arp(2, tip=PEER_IP, tmac=PEER_MAC)), ms(1000))
    s['icmp_echo'] = seq(arp_req, frame(eth(LWIP_MAC, 0x0800, ipv4(1, icmp_echo()))))
    s['icmp_echo_unknown_peer'] = seq(frame(eth(LWIP_MAC, 0x0800, ipv4(1, icmp_echo()))),
                                      ms(1500), arp_req)
    s['tcp_syn_echo'] = seq(arp_req, frame(tcp(40000, 7, 1000, 0, 0x02)), ms(3000))
    s['tcp_syn_options'] = seq(arp_req, frame(tcp(40001, 7, 5000, 0, 0x02, opts=syn_opts)))
    s['tcp_syn_closed_port'] = seq(arp_req, frame(tcp(40002, 81, 1, 0, 0x02)))
    s['tcp_echo_session'] = seq(
        arp_req,
        frame(tcp(40003, 7, 1000, 0, 0x02)),
        frame(tcp(40003, 7, 1001, ISN + 1, 0x10)),
        frame(tcp(40003, 7, 1001, ISN + 1, 0x18, b'hello, lwip')),
        ms(300),
        frame(tcp(40003, 7, 1012, ISN + 12, 0x10)),
        frame(tcp(40003, 7, 1012, ISN + 12, 0x11)),
        ms(500),
        frame(tcp(40003, 7, 1013, ISN + 13, 0x10)))
    s['tcp_ooseq'] = seq(
        arp_req,
        frame(tcp(40004, 9, 1000, 0, 0x02)),
        frame(tcp(40004, 9, 1001, ISN + 1, 0x10)),
        frame(tcp(40004, 9, 1011, ISN + 1, 0x18, b'B' * 10)),
        frame(tcp(40004, 9, 1031, ISN + 1, 0x18, b'D' * 10)),
        frame(tcp(40004, 9, 1001, ISN + 1, 0x18, b'A' * 10)),
        ms(1000),
        frame(tcp(40004, 9, 1021, ISN + 1, 0x18, b'C' * 10)),
        frame(tcp(40004, 9, 1041, ISN + 1, 0x14)))
    s['tcp_chargen_rst'] = seq(
        arp_req,
        frame(tcp(40005, 19, 1000, 0, 0x02)),
        frame(tcp(40005, 19, 1001, ISN + 1, 0x10, win=512)),
        ms(2000),
        frame(tcp(40005, 19, 1001, ISN + 1, 0x04)))
    s['udp_echo'] = seq(arp_req, frame(udp(5000, 7, b'ping over udp')), ms(100))
    s['udp_closed_port'] = seq(arp_req, frame(udp(5000, 4444, b'x')))
    s['dhcp_offer_ack'] = seq(frame(dhcp(2)), ms(100), frame(dhcp(5)), ms(3000))
    s['dhcp_nak'] = seq(frame(dhcp(2)), ms(100), frame(dhcp(6)), ms(11000))
    igmp_q = struct.pack('!BBH4s', 0x11, 100, 0, b'\0' * 4)
    igmp_q = igmp_q[:2] + struct.pack('!H', csum(igmp_q)) + igmp_q[4:]
    s['igmp_query'] = seq(frame(eth(bytes.fromhex('01005e000001'), 0x0800,
                                    ipv4(2, igmp_q, dst=bytes([224, 0, 0, 1]), ttl=1,
                                         opts=bytes([148, 4, 0, 0])))), ms(11000))
    whole = icmp_echo(data=bytes(range(256)) * 4)
    f1 = ipv4(1, whole[:512], ident=7, frag=0x2000, tot=20 + 512)
    f2 = ipv4(1, whole[512:], ident=7, frag=64, tot=20 + len(whole) - 512)
    s['ipv4_fragments'] = seq(arp_req, frame(eth(LWIP_MAC, 0x0800, f2), raw=True),
                              frame(eth(LWIP_MAC, 0x0800, f1), raw=True), ms(100))
    f3 = ipv4(1, whole[256:768], ident=8, frag=0x2000 | 32, tot=20 + 512)
    s['ipv4_fragments_overlap'] = seq(arp_req,
                                      frame(eth(LWIP_MAC, 0x0800, f1), raw=True),
                                      frame(eth(LWIP_MAC, 0x0800, f3)),
                                      ms(16000))
    s['udp_echo_faults'] = seq(arp_req, frame(udp(5001, 7, b'dup me')),
                               frame(udp(5001, 7, b'and me')), faults=0x0f)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'frame')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
