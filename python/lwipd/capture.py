# SPDX-License-Identifier: MIT
"""Capture files as lwipd writes them: classic pcap (microsecond or
nanosecond stamps, either byte order) and pcapng (section header,
interface description, enhanced packet blocks with direction flags and
comments), rotated sets (FILE, FILE.1 ... FILE.N-1), and a small TCP
dissector over Ethernet/IPv4 for the tests and the report.

Directions use lwipd's words: "rx" is a frame from the host to lwIP
(pcapng inbound), "tx" one from lwIP to the host (pcapng outbound).
"""
import collections
import glob
import os
import re
import socket
import struct

RX, TX = "rx", "tx"

# One captured frame. ts: seconds (float), data: the bytes kept, orig_len:
# the frame's length on the wire, direction: RX, TX or None (classic pcap:
# see assign_directions()), comments: the pcapng opt_comment strings of the
# frame, ts_ns: the stamp in integer nanoseconds. (ts and data first: the
# TCP dissector takes Frames and (ts, bytes) pairs alike.)
Frame = collections.namedtuple("Frame", "ts data orig_len direction comments ts_ns")


class CaptureError(Exception):
    pass


PCAP_MAGICS = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}  # magic -> ns per fraction unit
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
LINKTYPE_ETHERNET = 1


def read_frames(path):
    """All frames of one capture file, pcap or pcapng, in file order. A
    record cut short at the end (a crash, a file still being written) ends
    the list quietly; a file that is neither format raises CaptureError."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        return []
    head = struct.unpack("<I", data[:4])[0]
    if head == PCAPNG_SHB:
        return _read_pcapng(path, data)
    return _read_pcap(path, data)


def _read_pcap(path, data):
    if len(data) < 24:
        return []
    for end in "<>":
        magic = struct.unpack(end + "I", data[:4])[0]
        if magic in PCAP_MAGICS:
            break
    else:
        raise CaptureError("%s: not a pcap or pcapng file (magic %#x)" % (
            path, struct.unpack("<I", data[:4])[0]))
    unit = PCAP_MAGICS[magic]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise CaptureError("%s: link type %d, expected Ethernet" % (path, linktype))
    rec = struct.Struct(end + "IIII")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = rec.unpack_from(data, off)
        off += 16
        if off + incl > len(data):
            break
        ts_ns = sec * 1000000000 + frac * unit
        out.append(Frame(ts_ns / 1e9, data[off:off + incl], orig, None, (), ts_ns))
        off += incl
    return out


def _options(data, off, end, e):
    """The options of a pcapng block between OFF and END: [(code, bytes)]."""
    out = []
    while off + 4 <= end:
        code, length = struct.unpack_from(e + "HH", data, off)
        off += 4
        if code == 0:
            break
        out.append((code, data[off:off + length]))
        off += (length + 3) & ~3
    return out


def _tsresol_ns(value):
    """if_tsresol's byte -> (multiplier, divisor) from stamp units to ns."""
    b = value[0] if value else 6
    if b & 0x80:
        return 1000000000, 1 << (b & 0x7F)
    exp = b & 0x7F
    return (10 ** (9 - exp), 1) if exp <= 9 else (1, 10 ** (exp - 9))


def _read_pcapng(path, data):
    out, ifaces, off, e = [], [], 0, "<"
    while off + 12 <= len(data):
        btype = struct.unpack_from(e + "I", data, off)[0]
        if btype == PCAPNG_SHB:
            bom = struct.unpack_from("<I", data, off + 8)[0]
            e = "<" if bom == PCAPNG_BOM else ">"
            if struct.unpack_from(e + "I", data, off + 8)[0] != PCAPNG_BOM:
                raise CaptureError("%s: bad pcapng byte-order magic" % path)
            ifaces = []  # interface ids are per section
        blen = struct.unpack_from(e + "I", data, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > len(data):
            break  # cut short (or damaged): keep what came before
        body, end = off + 8, off + blen - 4
        if btype == 1:  # interface description
            linktype = struct.unpack_from(e + "H", data, body)[0]
            mul, div, tsoff = 1000, 1, 0
            for code, val in _options(data, body + 8, end, e):
                if code == 9:
                    mul, div = _tsresol_ns(val)
                elif code == 14 and len(val) >= 8:
                    tsoff = struct.unpack(e + "q", val[:8])[0]
            ifaces.append((linktype, mul, div, tsoff))
        elif btype == 6:  # enhanced packet
            iface, hi, lo, cap, orig = struct.unpack_from(e + "IIIII", data, body)
            if iface >= len(ifaces):
                raise CaptureError("%s: packet on undeclared interface %d" % (path, iface))
            linktype, mul, div, tsoff = ifaces[iface]
            if linktype != LINKTYPE_ETHERNET:
                raise CaptureError("%s: link type %d, expected Ethernet" % (path, linktype))
            ts_ns = ((hi << 32) | lo) * mul // div + tsoff * 1000000000
            pkt = body + 20
            direction, comments = None, []
            for code, val in _options(data, pkt + ((cap + 3) & ~3), end, e):
                if code == 1:
                    comments.append(val.decode("utf-8", "replace"))
                elif code == 2 and len(val) >= 4:
                    direction = {1: RX, 2: TX}.get(struct.unpack(e + "I", val[:4])[0] & 3)
            out.append(Frame(ts_ns / 1e9, data[pkt:pkt + cap], orig, direction,
                             tuple(comments), ts_ns))
        off += blen
    return out


def rotated_files(path):
    """The files of a rotated capture whose newest file is PATH, oldest
    first: PATH.N-1 ... PATH.1, PATH (lwipd's --pcap-rotate renames FILE to
    FILE.1, FILE.1 to FILE.2 and so on). PATH alone when it never rotated."""
    older = []
    for p in glob.glob(glob.escape(path) + ".*"):
        m = re.fullmatch(r"\.(\d+)", p[len(path):])
        if m:
            older.append((int(m.group(1)), p))
    return [p for _, p in sorted(older, reverse=True)] + ([path] if os.path.exists(path) else [])


def read_capture(path):
    """All frames of the rotated set PATH belongs to (rotated_files()),
    oldest file first."""
    out = []
    for p in rotated_files(path):
        out.extend(read_frames(p))
    return out


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def assign_directions(frames, lwip_mac):
    """FRAMES with their direction set from the source MAC where the file
    did not say (classic pcap): lwIP's MAC (aa:bb:..) sent it: TX."""
    mine = mac_bytes(lwip_mac)
    return [f if f.direction else f._replace(direction=TX if f.data[6:12] == mine else RX)
            for f in frames]


TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
TCP_SACK_PERM, TCP_SACK = 4, 5  # TCP option kinds (RFC 2018)


def tcp_segments(frames, lwip_ip=None):
    """The TCP segments over IPv4 among FRAMES ((ts, bytes) pairs or
    Frames), as dicts: ts, ts_ns (from a Frame, else None), from_lwip (the
    source is LWIP_IP; without it the frame's direction says), host_port
    (the host's end of the connection), src, dst, sport, dport, seq, ack,
    flags, win (unscaled), len (payload bytes, from the IP header: right
    with a short snaplen too) and options (the option kinds, in order)."""
    lip = socket.inet_aton(lwip_ip) if lwip_ip else None
    out = []
    for fr in frames:
        ts, f = fr[0], fr[1]
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        ihl = (f[14] & 0x0F) * 4
        t = 14 + ihl
        if len(f) < t + 20:
            continue
        sport, dport, seq, ack = struct.unpack(">HHII", f[t:t + 12])
        off = (f[t + 12] >> 4) * 4
        kinds, i = [], t + 20
        while i < min(t + off, len(f)):
            k = f[i]
            if k == 0:
                break
            if k == 1:
                i += 1
                continue
            kinds.append(k)
            if i + 1 >= len(f) or f[i + 1] < 2:
                break
            i += f[i + 1]
        if lip is not None:
            from_lwip = f[26:30] == lip
        else:
            from_lwip = getattr(fr, "direction", None) == TX
        out.append({"ts": ts, "ts_ns": getattr(fr, "ts_ns", None), "from_lwip": from_lwip,
                    "host_port": dport if from_lwip else sport,
                    "src": socket.inet_ntoa(f[26:30]), "dst": socket.inet_ntoa(f[30:34]),
                    "sport": sport, "dport": dport,
                    "seq": seq, "ack": ack, "flags": f[t + 13],
                    "win": struct.unpack(">H", f[t + 14:t + 16])[0],
                    "len": struct.unpack(">H", f[16:18])[0] - ihl - off, "options": kinds})
    return out


def _after(a, b):
    """Sequence number A is after B (modulo 2^32, RFC 1982)."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


def tcp_anomalies(segs):
    """Retransmissions and duplicate ACKs among SEGS (tcp_segments()), each
    a list of segments. Per direction of each connection: a segment
    carrying sequence space (data, SYN or FIN) that starts before the
    highest sequence number already sent that way is a retransmission; a
    pure ACK (no data, no SYN/FIN/RST) repeating the previous ACK number
    and window of that direction is a duplicate ACK."""
    sent_end, last_ack = {}, {}
    retrans, dupacks = [], []
    for s in segs:
        key = (s["src"], s["sport"], s["dst"], s["dport"])
        flags = s["flags"]
        space = max(s["len"], 0) + (1 if flags & TCP_SYN else 0) + (1 if flags & TCP_FIN else 0)
        if space:
            end = (s["seq"] + space) & 0xFFFFFFFF
            top = sent_end.get(key)
            if top is not None and _after(top, s["seq"]):
                retrans.append(s)
            if top is None or _after(end, top):
                sent_end[key] = end
        if flags & TCP_RST or not flags & TCP_ACK:
            last_ack.pop(key, None)
            continue
        prev = last_ack.get(key)
        pure = not space
        if pure and prev == (s["ack"], s["win"]):
            dupacks.append(s)
        last_ack[key] = (s["ack"], s["win"])
    return retrans, dupacks


class Packet:
    """One captured frame with its scapy dissection: ts (seconds, float),
    ts_ns, direction (RX: host to lwIP, TX: lwIP to host), comments (the
    pcapng comments lwipd wrote: fault decisions, marks), data (the bytes)
    and pkt, the scapy Ether() of data (made on first use). `layer in p`
    and p[layer] ask the dissection."""

    __slots__ = ("frame", "_pkt")

    def __init__(self, frame):
        self.frame = frame
        self._pkt = None

    ts = property(lambda self: self.frame.ts)
    ts_ns = property(lambda self: self.frame.ts_ns)
    data = property(lambda self: self.frame.data)
    direction = property(lambda self: self.frame.direction)
    comments = property(lambda self: self.frame.comments)

    @property
    def pkt(self):
        if self._pkt is None:
            from scapy.layers.l2 import Ether  # Debian python3-scapy
            self._pkt = Ether(self.frame.data)
        return self._pkt

    def __contains__(self, layer):
        return layer in self.pkt

    def __getitem__(self, layer):
        return self.pkt[layer]

    def __repr__(self):
        return "<Packet %.6f %s %s>" % (self.ts, self.direction, self.pkt.summary())


class Capture(list):
    """A parsed capture: a list of Packets in file order (a rotated set
    read as one), with filters by scapy layer and direction."""

    def __init__(self, frames):
        super().__init__(Packet(f) for f in frames)

    def having(self, layer, direction=None):
        """The packets that contain LAYER (a scapy class such as
        scapy.layers.inet.TCP), from DIRECTION (RX, TX) if given."""
        return [p for p in self if (direction is None or p.direction == direction) and layer in p]

    def rx(self):
        return [p for p in self if p.direction == RX]

    def tx(self):
        return [p for p in self if p.direction == TX]


def load(path, lwip_mac=None, rotated=True):
    """The capture at PATH (and, with ROTATED, its rotated files) as a
    Capture. Frames of a classic pcap have no direction recorded: with
    LWIP_MAC it is taken from the source MAC (assign_directions())."""
    frames = read_capture(path) if rotated else read_frames(path)
    if lwip_mac:
        frames = assign_directions(frames, lwip_mac)
    return Capture(frames)
