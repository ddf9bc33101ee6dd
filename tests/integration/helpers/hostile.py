# SPDX-License-Identifier: MIT
"""Crafted hostile frames for lwIP, run inside a test's namespace. Each
subcommand prints one JSON object. Every frame goes to lwIP's MAC; every
IPv4 address a frame carries in an address field is in 198.18.0.0/15,
except the link-scope IGMP destinations 224.0.0.1 and lwIP's joined group
(as test_igmp.py sends). Every run is seeded (the same seed gives the same
frames: the sha256 of all of them is printed), paced to RATE frames a
second and bounded in count and time.

  hostile.py fuzz IFACE LWIP_MAC HOST_IP LWIP_IP COUNT SEED RATE [--dry]
      scapy fuzz() over every layer lwIP parses. --dry: build, do not send.
  hostile.py syn-flood IFACE LWIP_MAC LWIP_IP PORT COUNT SEED RATE
      SYNs from random addresses and ports of 198.18.0.0/15, then one RST
      for each (the sweep that ends the half-open connections).
  hostile.py frag-storm IFACE LWIP_MAC HOST_IP LWIP_IP COUNT SEED RATE
      COUNT datagrams cut into overlapping, duplicate, missing, oversize
      and conflicting fragments.
  hostile.py dhcp-fuzz IFACE LWIP_MAC COUNT SEED RATE
      Fuzzed DHCP OFFER/ACK/NAK to lwIP's DHCP client, most with the xid
      of lwIP's latest request (read from the TAP).
"""
import hashlib
import ipaddress
import itertools
import json
import random
import socket
import struct
import sys
import time

from scapy.all import (ARP, BOOTP, DHCP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_Router_Alert,
                       Raw, fuzz, raw)
from scapy.contrib.igmp import IGMP

SAFE = ipaddress.ip_network("198.18.0.0/15")
DEADLINE_S = 120  # no run may take longer, whatever RATE says
SRC_MAC = "02:99:00:00:00:01"
IGMP_GROUP = "239.255.18.1"  # test_igmp.py's group; the test makes lwIP join it
ALL_SYSTEMS = "224.0.0.1"
LISTEN_PORTS = (7, 9, 19, 5001)  # echo, discard, chargen, lwiperf
# DHCP: the addresses the fuzzer offers lie outside the test's dnsmasq range
# (198.18.0.100-149), so that dnsmasq refuses them afterwards.
DHCP_OFFER_BASE = 150


def safe(addr):
    if ipaddress.ip_address(addr) not in SAFE:
        sys.exit("hostile: %s is outside 198.18.0.0/15" % addr)
    return addr


def safe_random_ip(rnd, avoid):
    """A random address of 198.18.0.0/15, none of AVOID (lwIP's, the host's)."""
    for _ in range(16):
        a = str(SAFE[rnd.randrange(1, SAFE.num_addresses - 1)])
        if a not in avoid:
            return a
    return "198.18.1.1"


class Sender:
    """Paced raw frames on IFACE (or only hashed with DRY)."""

    def __init__(self, iface, rate, dry=False):
        self.sock = None
        if not dry:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.sock.bind((iface, 0))
        self.rate = rate
        self.sent = 0
        self.failed = 0
        self.digest = hashlib.sha256()
        self.t0 = time.monotonic()

    def send(self, frame):
        if time.monotonic() - self.t0 > DEADLINE_S:
            sys.exit("hostile: deadline of %d s passed" % DEADLINE_S)
        self.digest.update(struct.pack("!H", len(frame)) + frame)
        if self.sock is not None:
            ahead = self.t0 + self.sent / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            try:
                self.sock.send(frame)
            except OSError:
                self.failed += 1
        self.sent += 1

    def result(self, **extra):
        r = {"sent": self.sent, "send_failed": self.failed,
             "seconds": round(time.monotonic() - self.t0, 3),
             "sha256": self.digest.hexdigest()}
        r.update(extra)
        if self.sock is not None:
            self.sock.close()
        return r


# ---- scapy fuzz() over every layer ------------------------------------------------

def ip_checksum(h):
    h = h + b"\0" * (len(h) % 2)
    c = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    c = (c >> 16) + (c & 0xFFFF)
    return ~(c + (c >> 16)) & 0xFFFF


def with_ip_options(frame, opts):
    """FRAME (Ethernet + a 20-byte IPv4 header) with the raw option bytes
    OPTS (padded to 4) in its header: IHL, total length and checksum fixed."""
    opts = opts + b"\0" * (-len(opts) % 4)
    h = bytearray(frame[14:34] + opts)
    h[0] = 0x40 | (len(h) // 4)
    struct.pack_into("!H", h, 2, len(frame) - 14 + len(opts))
    struct.pack_into("!H", h, 10, 0)
    struct.pack_into("!H", h, 10, ip_checksum(bytes(h)))
    return frame[:14] + bytes(h) + frame[34:]


TCP_OPTIONS = (("MSS", 1460), ("WScale", 7), ("SAckOK", b""), ("Timestamp", (1, 0)),
               ("NOP", None), ("SAck", (1, 2)))


def tcp_options_frame(rnd, p):
    """P (Ether/IP/fuzzed TCP) with a random set of well-formed TCP options
    whose bytes are then overwritten in places: lengths that lie, kinds
    lwIP does not know, EOL in the middle."""
    p[TCP].dataofs = None
    p[TCP].options = rnd.sample(TCP_OPTIONS, rnd.randrange(1, len(TCP_OPTIONS) + 1))
    b = bytearray(raw(p))
    tcp = 14 + (b[14] & 0x0F) * 4
    end = min(len(b), tcp + (b[tcp + 12] >> 4) * 4)
    for i in range(tcp + 20, end):
        if rnd.random() < 0.3:
            b[i] = rnd.choice((0, 1, 2, 3, 4, 5, 8, 255, rnd.getrandbits(8)))
    return bytes(b)


def fuzz_frames(lwip_mac, host_ip, lwip_ip, count, seed):
    """COUNT (kind, frame bytes) pairs, from SEED alone. Lower layers are
    left valid (checksums and lengths computed) in most frames, so that the
    fuzzed layer is what lwIP gets to parse; in some the lower layer is
    fuzzed too."""
    random.seed(seed)  # scapy's random values come from the random module
    rnd = random.Random(seed)
    # Every IPv4 header gets its own ID: fragments of the fuzz never join
    # one another's datagram (overlaps are the fragment storm's job; on
    # 2.0.3 any overlap is the known double free, zoo frag-dup-double-free).
    ids = itertools.count(1)
    avoid = (host_ip, lwip_ip)
    kinds = ("ether", "vlan", "arp", "ipv4", "ipv4-options", "icmp", "igmp", "udp", "tcp",
             "tcp-options", "dhcp")

    def eth(**kw):
        return Ether(dst=lwip_mac, src=SRC_MAC, **kw)

    def ip(dst=None, **kw):
        src = host_ip if rnd.random() < 0.5 else safe_random_ip(rnd, avoid)
        # Valid header (scapy computes IHL, length and checksum) unless
        # the IP layer itself is fuzzed.
        if rnd.random() < 0.85:
            return IP(src=src, dst=dst or lwip_ip, ihl=None, len=None, chksum=None,
                      id=next(ids) & 0xFFFF, **kw)
        return fuzz(IP(src=src, dst=dst or lwip_ip, id=next(ids) & 0xFFFF, **kw))

    def payload():
        return Raw(rnd.randbytes(rnd.choice((0, 1, 8, 64, 600))))

    def chk():
        return None if rnd.random() < 0.8 else rnd.getrandbits(16)

    for _ in range(count):
        kind = rnd.choice(kinds)
        if kind == "ether":
            p = fuzz(eth()) / payload()
        elif kind == "vlan":
            inner = payload()
            if rnd.random() < 0.5:
                inner = IP(src=host_ip, dst=lwip_ip, id=next(ids) & 0xFFFF) / ICMP()
            p = eth() / fuzz(Dot1Q()) / inner
        elif kind == "arp":
            # Never the host's address: a forged sender MAC for it would
            # sit in lwIP's ARP table and break the checks that follow.
            p = eth(type=0x0806) / fuzz(ARP(psrc=safe_random_ip(rnd, avoid),
                                            pdst=rnd.choice((lwip_ip, safe_random_ip(rnd, avoid)))))
        elif kind == "ipv4":
            p = eth() / fuzz(IP(src=host_ip, dst=lwip_ip, chksum=chk(),
                                id=next(ids) & 0xFFFF)) / payload()
        elif kind == "ipv4-options":
            opts = rnd.randbytes(rnd.randrange(1, 41))
            p = eth() / IP(src=host_ip, dst=lwip_ip, id=next(ids) & 0xFFFF,
                           flags=rnd.choice((0, 1, 2)),
                           frag=rnd.choice((0, 0, 1, 8191)),
                           proto=rnd.choice((1, 2, 6, 17, 255))) / payload()
            yield kind, with_ip_options(raw(p), opts)
            continue
        elif kind == "icmp":
            p = eth() / ip() / fuzz(ICMP(chksum=chk())) / payload()
        elif kind == "igmp":
            dst = rnd.choice((ALL_SYSTEMS, IGMP_GROUP))
            gaddr = rnd.choice(("0.0.0.0", IGMP_GROUP, "239.255.18.2"))
            p = (eth() / IP(src=host_ip, dst=dst, ttl=1, id=next(ids) & 0xFFFF,
                            options=[IPOption_Router_Alert()]) /
                 fuzz(IGMP(gaddr=gaddr, chksum=chk())))
        elif kind == "udp":
            dport = rnd.choice(LISTEN_PORTS[:3] + (68, 4242))
            length = None if rnd.random() < 0.7 else rnd.getrandbits(16)
            p = eth() / ip() / fuzz(UDP(dport=dport, len=length, chksum=chk())) / payload()
        elif kind in ("tcp", "tcp-options"):
            t = TCP(dport=rnd.choice(LISTEN_PORTS + (4242,)), chksum=chk())
            if kind == "tcp-options":
                yield kind, tcp_options_frame(rnd, eth() / ip() / fuzz(t))
                continue
            p = eth() / ip() / fuzz(t) / payload()
        else:  # dhcp to port 68 (no DHCP client here: the static address)
            p = (eth() / ip() / UDP(sport=67, dport=68) /
                 fuzz(BOOTP(yiaddr=safe_random_ip(rnd, avoid), siaddr=host_ip,
                            giaddr="0.0.0.0", ciaddr="0.0.0.0")) /
                 DHCP(options=[("message-type", rnd.randrange(0, 10)), ("server_id", host_ip),
                               "end"]))
        try:
            yield kind, raw(p)
        except Exception:  # scapy cannot build some fuzzed values: record, go on
            yield kind, None


def cmd_fuzz(iface, lwip_mac, host_ip, lwip_ip, count, seed, rate, dry):
    safe(host_ip)
    safe(lwip_ip)
    s = Sender(iface, rate, dry)
    kinds, unbuildable = {}, {}
    for kind, frame in fuzz_frames(lwip_mac, host_ip, lwip_ip, count, seed):
        if frame is None:
            unbuildable[kind] = unbuildable.get(kind, 0) + 1
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        s.send(frame[:1514])
    return s.result(seed=seed, kinds=kinds, unbuildable=unbuildable)


# ---- SYN flood --------------------------------------------------------------------

def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ipv4_frame(lwip_mac, src, dst, proto, body, ident=0, frag_field=0):
    """Ethernet + a 20-byte IPv4 header (checksum computed) + BODY, built
    with struct: the flood and the storm send thousands (scapy takes about
    a millisecond a frame)."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag_field, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", ip_checksum(h)) + h[12:]
    return mac_bytes(lwip_mac) + mac_bytes(SRC_MAC) + b"\x08\x00" + h + body


TCP_FLAGS = {"S": 0x02, "R": 0x04}


def tcp_frame(lwip_mac, src, dst, sport, dport, seq, flags):
    opts = struct.pack("!BBH", 2, 4, 1460) if flags == "S" else b""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + len(opts) // 4) << 4,
                      TCP_FLAGS[flags], 8192, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    c = ip_checksum(pseudo + hdr)
    hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
    return ipv4_frame(lwip_mac, src, dst, 6, hdr)


def cmd_syn_flood(iface, lwip_mac, lwip_ip, port, count, seed, rate):
    safe(lwip_ip)
    rnd = random.Random(seed)
    s = Sender(iface, rate)
    flood = []
    for _ in range(count):
        c = (safe_random_ip(rnd, ("198.18.0.1", lwip_ip)), rnd.randrange(1024, 65536),
             rnd.getrandbits(32))
        flood.append(c)
        s.send(tcp_frame(lwip_mac, c[0], lwip_ip, c[1], port, c[2], "S"))
    flood_s = time.monotonic() - s.t0
    # RST at the sequence number lwIP expects next ends each half-open PCB
    # at once (lwIP would time them out after 20 s).
    for src, sport, isn in flood:
        s.send(tcp_frame(lwip_mac, src, lwip_ip, sport, port, (isn + 1) & 0xFFFFFFFF, "R"))
    return s.result(seed=seed, syns=count, flood_seconds=round(flood_s, 3))


# ---- overlapping-fragment storm ---------------------------------------------------

def frag(lwip_mac, host_ip, lwip_ip, ident, off8, mf, data):
    return ipv4_frame(lwip_mac, host_ip, lwip_ip, 17, data, ident, (0x2000 if mf else 0) | off8)


def storm_pieces(rnd, total):
    """[(offset in 8-byte units, more fragments, length)] for one datagram of
    TOTAL bytes, in one of the hostile patterns."""
    pattern = rnd.choice(("overlap", "teardrop", "duplicate", "missing", "oversize",
                          "two-lasts", "tiny", "reverse", "many", "zero"))
    half = (total // 2) // 8 * 8
    if pattern == "overlap":  # the second starts inside the first
        o = max(half - 8 * rnd.randrange(1, 8), 8)
        return pattern, [(0, True, half), (o // 8, False, total - o)]
    if pattern == "teardrop":  # the second lies inside the first, ends early
        return pattern, [(0, True, half), (1, True, 8), (half // 8, False, total - half)]
    if pattern == "duplicate":
        p = [(0, True, half), (half // 8, False, total - half)]
        return pattern, p + p
    if pattern == "missing":  # never completes: lwIP's reassembly timer ends it
        return pattern, [(0, True, 16), (half // 8, False, total - half)]
    if pattern == "oversize":  # offset + length past 65535
        return pattern, [(0, True, 16), (8189, False, rnd.choice((32, 64, 200)))]
    if pattern == "two-lasts":  # conflicting ends
        return pattern, [(0, True, half), (half // 8, False, total - half),
                         (half // 8, False, total - half + 64)]
    if pattern == "tiny":  # 8-byte fragments: the UDP header split from its data
        n = min(total // 8, 24)
        return pattern, [(i, i < n - 1, 8) for i in range(n)]
    if pattern == "reverse":
        return pattern, [(half // 8, False, total - half), (0, True, half)]
    if pattern == "many":  # more pieces than IP_REASS_MAX_PBUFS
        n = min(total // 8, 40)
        return pattern, [(i, True, 8) for i in range(n)]
    return pattern, [(0, True, 0), (0, True, 0), (1, False, 0)]  # zero-length


def cmd_frag_storm(iface, lwip_mac, host_ip, lwip_ip, count, seed, rate):
    safe(host_ip)
    safe(lwip_ip)
    rnd = random.Random(seed)
    s = Sender(iface, rate)
    patterns = {}
    for _ in range(count):
        total = 8 * rnd.randrange(4, 180)  # UDP header + data, a multiple of 8
        # (The UDP checksum is 0, "none": what reassembles is delivered.)
        udp = struct.pack("!HHHH", rnd.randrange(1024, 65536), 9, total, 0) + rnd.randbytes(
            total - 8)
        pattern, pieces = storm_pieces(rnd, total)
        patterns[pattern] = patterns.get(pattern, 0) + 1
        ident = rnd.getrandbits(16)
        for off8, mf, n in pieces:
            data = (udp[off8 * 8:off8 * 8 + n]).ljust(n, b"\xa5")
            s.send(frag(lwip_mac, host_ip, lwip_ip, ident, off8, mf, data))
    return s.result(seed=seed, datagrams=count, patterns=patterns)


# ---- DHCP client ------------------------------------------------------------------

def lwip_dhcp_xid(sock, lwip_mac, seen):
    """Drain SOCK; record the xid and message type of lwIP's latest DHCP
    message in SEEN. Returns the latest xid (None before the first)."""
    mac = bytes(int(x, 16) for x in lwip_mac.split(":"))
    while True:
        try:
            f = sock.recv(2048)
        except BlockingIOError:
            return seen.get("xid")
        if len(f) < 14 + 20 + 8 + 240 or f[6:12] != mac or f[12:14] != b"\x08\x00":
            continue
        ihl = (f[14] & 0x0F) * 4
        udp = 14 + ihl
        if f[23] != 17 or struct.unpack("!H", f[udp + 2:udp + 4])[0] != 67:
            continue
        bootp = udp + 8
        seen["xid"] = f[bootp + 4:bootp + 8]
        opts = f[bootp + 240:]
        i = 0
        while i + 2 < len(opts) and opts[i] != 255:  # find the message type (53)
            if opts[i] == 0:
                i += 1
                continue
            if opts[i] == 53:
                t = {1: "discover", 3: "request", 4: "decline", 7: "release"}.get(
                    opts[i + 2], str(opts[i + 2]))
                seen.setdefault("lwip_sent", {})
                seen["lwip_sent"][t] = seen["lwip_sent"].get(t, 0) + 1
                break
            i += 2 + opts[i + 1]


def dhcp_reply(rnd, lwip_mac, xid):
    """One fuzzed DHCP reply: well-formed around a random core in most, with
    option lengths and fields that lie in some."""
    server = rnd.choice(("198.18.0.1", "198.18.0.%d" % rnd.randrange(200, 250)))
    yiaddr = "198.18.0.%d" % rnd.randrange(DHCP_OFFER_BASE, DHCP_OFFER_BASE + 50)
    mtype = rnd.choice((2, 2, 5, 5, 5, 6, 1, 3, 4, 7, 8, 0, 42))
    lease = rnd.choice((0, 1, 2, 5, 30, 3600, 0xFFFFFFFF, rnd.getrandbits(32)))
    opts = [("message-type", mtype), ("server_id", server), ("lease_time", lease)]
    if rnd.random() < 0.5:
        opts.append(("renewal_time", rnd.choice((0, 1, lease, rnd.getrandbits(32)))))
        opts.append(("rebinding_time", rnd.choice((0, 2, lease, rnd.getrandbits(32)))))
    if rnd.random() < 0.8:
        mask = rnd.choice(("255.255.255.0", "255.255.255.0", "255.255.0.0", "255.255.255.252",
                           "255.255.255.255", "0.0.0.0"))
        opts.append(("subnet_mask", mask))
    if rnd.random() < 0.6:
        opts.append(("router", "198.18.0.1"))
    if rnd.random() < 0.4:
        opts.append(("name_server", "198.18.0.1", "198.18.0.%d" % rnd.randrange(3, 99)))
    for _ in range(rnd.randrange(0, 4)):  # options lwIP skips (not address-valued)
        code = rnd.choice((12, 15, 26, 43, 60, 61, 81, 119, 121, 224, 254))
        opts.append((code, rnd.randbytes(rnd.randrange(0, 40))))
    if rnd.random() < 0.1:
        opts.append(("pad",))
    if rnd.random() < 0.1:
        opts.append(("overload", rnd.choice((1, 2, 3, 0))))
    if rnd.random() < 0.9:
        opts.append("end")
    bootp = BOOTP(op=2 if rnd.random() < 0.9 else rnd.getrandbits(8),
                  xid=struct.unpack("!I", xid)[0] if xid and rnd.random() < 0.85
                  else rnd.getrandbits(32),
                  chaddr=bytes(int(x, 16) for x in lwip_mac.split(":")) if rnd.random() < 0.9
                  else rnd.randbytes(6),
                  hlen=6 if rnd.random() < 0.9 else rnd.getrandbits(8),
                  htype=1 if rnd.random() < 0.9 else rnd.getrandbits(8),
                  yiaddr=yiaddr, siaddr=server, flags=rnd.getrandbits(16),
                  secs=rnd.getrandbits(16), hops=rnd.getrandbits(8))
    body = bytearray(raw(bootp / DHCP(options=opts)))
    if rnd.random() < 0.25:  # lengths that lie: flip bytes of the options area
        for _ in range(rnd.randrange(1, 4)):
            i = rnd.randrange(240, len(body)) if len(body) > 240 else 0
            body[i] = rnd.getrandbits(8)
    if rnd.random() < 0.1:
        body = body[:rnd.randrange(0, len(body))]
    p = (Ether(dst=lwip_mac, src=SRC_MAC) / IP(src=server, dst=yiaddr) /
         UDP(sport=67, dport=68) / Raw(bytes(body)))
    return mtype, raw(p)


def cmd_dhcp_fuzz(iface, lwip_mac, count, seed, rate):
    rnd = random.Random(seed)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    rx.bind((iface, 0))
    rx.setblocking(False)
    seen = {}
    deadline = time.monotonic() + 30
    while lwip_dhcp_xid(rx, lwip_mac, seen) is None:  # lwIP's first DISCOVER
        if time.monotonic() > deadline:
            sys.exit("hostile: no DHCP message from lwIP in 30 s")
        time.sleep(0.05)
    s = Sender(iface, rate)
    types = {}
    for _ in range(count):
        mtype, frame = dhcp_reply(rnd, lwip_mac, lwip_dhcp_xid(rx, lwip_mac, seen))
        types[mtype] = types.get(mtype, 0) + 1
        s.send(frame)
    time.sleep(0.2)
    lwip_dhcp_xid(rx, lwip_mac, seen)
    rx.close()
    return s.result(seed=seed, message_types={str(k): v for k, v in types.items()},
                    lwip_sent=seen.get("lwip_sent", {}))


def main(argv):
    cmd, a = argv[0], argv[1:]
    if cmd == "fuzz":
        r = cmd_fuzz(a[0], a[1], a[2], a[3], int(a[4]), int(a[5]), float(a[6]),
                     "--dry" in a[7:])
    elif cmd == "syn-flood":
        r = cmd_syn_flood(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]))
    elif cmd == "frag-storm":
        r = cmd_frag_storm(a[0], a[1], a[2], a[3], int(a[4]), int(a[5]), float(a[6]))
    elif cmd == "dhcp-fuzz":
        r = cmd_dhcp_fuzz(a[0], a[1], int(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit("hostile: unknown command %s" % cmd)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
