# SPDX-License-Identifier: MIT
"""IGMPv1 querier frames, and the Linux kernel as the oracle for RFC 2236's
host side (row 29). Run inside the namespace:

  python3 _h_igmp.py kernel QUERIER_IF MEMBER_IF MEMBER_ADDR GROUP

MEMBER_IF (one end of a veth pair, address MEMBER_ADDR) joins GROUP with
IP_ADD_MEMBERSHIP; an IGMPv1 general query (type 0x11, max resp 0) is
written on QUERIER_IF, the other end; the membership is dropped once the
kernel has answered. Prints one JSON object: the IGMP messages seen on
QUERIER_IF after the join, after the query and after the drop.
"""
import json
import socket
import sys
import time

from scapy.all import IP, Ether, IPOption_Router_Alert, raw  # python3-scapy
from scapy.contrib.igmp import IGMP

ALL_SYSTEMS = "224.0.0.1"
QUERIER = "198.18.1.254"
# RFC 2236 2.2: a v1 query's max response time is 0, meaning 10 s; Linux
# answers after a random delay up to that (igmp_heard_query).
V1_RESPONSE_S = 10.0
QUIET_S = 3.0


def v1_query(src_mac, src_ip=QUERIER):
    """An IGMPv1 general query as a querier sends it: to 224.0.0.1, TTL 1,
    Router Alert, max resp 0."""
    pkt = (Ether(src=src_mac, dst="01:00:5e:00:00:01") /
           IP(src=src_ip, dst=ALL_SYSTEMS, ttl=1,
              options=[IPOption_Router_Alert()]) /
           IGMP(type=0x11, mrcode=0, gaddr="0.0.0.0"))
    return raw(pkt)


def _igmp_types(sock, seconds, until=None):
    """[(t, type, group)] of IGMP messages read from SOCK for SECONDS, or
    until a message of type UNTIL."""
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            break
        pkt = Ether(data)
        if IP not in pkt or pkt[IP].proto != 2:
            continue
        body = bytes(pkt[IP].payload)
        if len(body) < 8:
            continue
        msg = IGMP(body)  # v1/v2 layout: type, max resp, checksum, group
        grp = None  # v3 reports (0x22) carry their groups in records
        if msg.type in (0x11, 0x12, 0x16, 0x17):
            grp = msg.gaddr
        out.append((round(time.monotonic(), 3), msg.type, grp))
        if until is not None and msg.type == until:
            break
    return out


def kernel(querier_if, member_if, member_addr, group):
    with open("/sys/class/net/%s/address" % querier_if) as f:
        qmac = f.read().strip()
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    cap.bind((querier_if, 0))
    m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mreq = socket.inet_aton(group) + socket.inet_aton(member_addr)
    t0 = time.monotonic()
    m.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    joined = _igmp_types(cap, QUIET_S)
    tq = time.monotonic()
    cap.send(v1_query(qmac))
    answered = _igmp_types(cap, V1_RESPONSE_S + 1, until=0x12)
    # More time for anything else the query makes the kernel send.
    answered += _igmp_types(cap, 1.0)
    td = time.monotonic()
    m.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
    dropped = _igmp_types(cap, QUIET_S)

    def rel(msgs, base):
        return [{"t": round(t - base, 3), "type": "%#04x" % ty, "group": g}
                for t, ty, g in msgs if g != "0.0.0.0" or ty != 0x11]

    return {"after_join": rel(joined, t0), "after_v1_query": rel(answered, tq),
            "after_leave": rel(dropped, td)}


def main(argv):
    if len(argv) == 5 and argv[0] == "kernel":
        print(json.dumps(kernel(*argv[1:])))
        return 0
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
