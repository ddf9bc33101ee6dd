# SPDX-License-Identifier: MIT
"""`stats`: lwIP's own counter groups, named and shaped as lwIP's stats.h has
them, and moved by the traffic that lwIP's code counts."""
import os
import re
import socket
import struct

import pytest

from lwipd import testing as harness

# The frames below are written into the TAP from the host side of this
# test's namespace; lwipd reads them, nothing else sees them.
IGMP_SCRIPT = r"""
import socket, sys
iface, frame = sys.argv[1], bytes.fromhex(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
assert s.send(frame) == len(frame)
"""
HOST_MAC = bytes.fromhex("029900000007")


def lwip_header(name):
    """Path of lwIP's include/lwip/NAME in the tree lwipd was built from."""
    out = harness.run([harness.LWIPD, "--version"]).stdout
    m = re.search(r"^lwIP [0-9.]+ \((.*)\)$", out, re.M)
    assert m, out
    return os.path.join(m.group(1), "src", "include", "lwip", name)


def struct_fields(header, struct_name):
    """The STAT_COUNTER fields of STRUCT_NAME in HEADER, in order."""
    with open(header) as f:
        text = f.read()
    m = re.search(r"struct %s \{(.*?)\};" % struct_name, text, re.S)
    assert m, "no struct %s in %s" % (struct_name, header)
    return re.findall(r"STAT_COUNTER\s+(\w+);", m.group(1))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def igmp_frame(dst_ip, dst_mac, msgtype, maxresp, group="0.0.0.0", bad_checksum=False,
               length=8):
    """Ethernet + IPv4 (TTL 1, Router Alert as queriers send it) + IGMP,
    cut to LENGTH bytes of IGMP."""
    igmp = bytearray(struct.pack("!BBH4s", msgtype, maxresp, 0, socket.inet_aton(group)))
    struct.pack_into("!H", igmp, 2, checksum(bytes(igmp)) ^ (0x5555 if bad_checksum else 0))
    igmp = igmp[:length]
    ra = b"\x94\x04\x00\x00"
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x46, 0xC0, 24 + len(igmp), 1, 0, 1, 2, 0,
                               socket.inet_aton(harness.check_safe(harness.HOST_IP)),
                               socket.inet_aton(dst_ip)) + ra)
    struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
    return dst_mac + HOST_MAC + b"\x08\x00" + bytes(ip) + bytes(igmp)


def igmp_stats(d):
    return d.stats()["lwip"]["igmp"]


def test_igmp_group_has_lwips_fields(lwipd):
    st = lwipd.request({"cmd": "status"})
    g = lwipd.stats()["lwip"].get("igmp")
    if g is None:
        # Only a user's lwipopts.h may turn LWIP_IGMP or IGMP_STATS off.
        assert not st["build"]["lwipopts"].endswith("port/opts/default"), \
            "lwipd's own lwipopts.h has LWIP_IGMP=1 and IGMP_STATS=1: no igmp group"
        pytest.skip("this build's lwipopts.h turns IGMP stats off")
    fields = struct_fields(lwip_header("stats.h"), "stats_igmp")
    assert len(fields) >= 14, fields
    assert list(g) == fields  # every field, in lwIP's order, and nothing else
    assert all(isinstance(v, int) and v >= 0 for v in g.values()), g


def test_igmp_messages_move_lwips_counters(netns, lwipd):
    """IGMP messages from the host, each counted where lwIP's igmp_input()
    counts it, and nothing else moving. All go to lwIP's unicast address
    (198.18.0.0/15 only, as everything the tests send): igmp_input() checks
    the length, then the checksum, then looks for the destination group."""
    if "igmp" not in lwipd.stats()["lwip"]:
        pytest.skip("this build's lwipopts.h turns IGMP stats off")
    ours = harness.mac_bytes(lwipd.mac)
    cases = [
        # (what, frame, the counters it moves besides recv)
        ("short message", igmp_frame(lwipd.ip, ours, 0x11, 100, length=4), {"lenerr": 1}),
        ("bad checksum", igmp_frame(lwipd.ip, ours, 0x11, 100, bad_checksum=True),
         {"chkerr": 1}),
        # No group of that address: dropped.
        ("v2 query to a group lwIP is not in", igmp_frame(lwipd.ip, ours, 0x11, 100),
         {"drop": 1}),
        ("v1 query to a group lwIP is not in", igmp_frame(lwipd.ip, ours, 0x11, 0),
         {"drop": 1}),
    ]
    for what, frame, moved in cases:
        before = igmp_stats(lwipd)
        netns.run([harness.PYTHON, "-c", IGMP_SCRIPT, netns.tap, frame.hex()], timeout=30)
        after = harness.wait_for(
            lambda: (lambda s: s if s["recv"] > before["recv"] else None)(igmp_stats(lwipd)),
            5, "lwIP to count the %s" % what)
        delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        assert delta == dict(moved, recv=1), (what, delta)
