# SPDX-License-Identifier: MIT
"""Row 8: lwIP 2.2's DHCP client binds only after address conflict
detection (RFC 5227 ACD, on by default): seconds after the ACK instead of
the half second 2.1's single ARP check took.

2.2 replaced DHCP_DOES_ARP_CHECK (2.1: ARP requests for the offered
address from dhcp_check(), twice 500 ms apart, then bind: 1 s) with
LWIP_DHCP_DOES_ACD_CHECK, default LWIP_DHCP: after the ACK, acd.c waits a
random PROBE_WAIT (up to 1 s), sends PROBE_NUM (3) ARP probes 1-2 s apart
from 0.0.0.0 and waits ANNOUNCE_WAIT (2 s) before dhcp_bind(), at least
4 s in all. Firmware that expects an address within a second of link-up
(as with 2.1) waits 3-6 s more. A behaviour change, not a defect: the
"fixed" variants are the opt-out (LWIP_DHCP_DOES_ACD_CHECK 0, zoo/opts/noacd)
and 2.1.3 as the reference.

Trigger: lwipd --dhcp against the scripted server (_h_dhcp.py). Evidence
from the capture: the ACK's time, lwIP's ARP probes for the address (sender
0.0.0.0), and the first frame lwIP sends from the address (its announcement
or gratuitous ARP once bound); bad when that comes more than LIMIT_S after
the ACK."""
import socket

from scapy.all import ARP, BOOTP, DHCP  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

WINDOW = 20.0
LIMIT_S = 3.0


def _timeline(env, ip):
    """(t of the ACK, [t of lwIP's ARP probes for IP], t of lwIP's first
    frame from IP) from the capture (None where absent)."""
    ack, probes, first = None, [], None
    for ts, pkt, way in _h_net.captured(env):
        if way == "rx" and DHCP in pkt and pkt[BOOTP].op == 2 and \
                ("message-type", 5) in [o for o in pkt[DHCP].options if isinstance(o, tuple)]:
            ack = ack or ts
        if way != "tx" or ARP not in pkt:
            continue
        if pkt[ARP].psrc == "0.0.0.0" and pkt[ARP].pdst == ip:
            probes.append(ts)
        elif pkt[ARP].psrc == ip and first is None and ack is not None:
            first = ts
    return ack, probes, first


def run(env):
    srv, out = _h_net.dhcp_server(env, WINDOW + 30)
    try:
        d = env.start(["--dhcp"])

        def bound():
            ip = d.request({"cmd": "status"})["ip"]
            return ip if ip != "0.0.0.0" else None

        try:
            ip = harness.wait_for(bound, WINDOW, "a DHCP lease", interval=0.1)
        except TimeoutError:
            ip = None
    finally:
        seen = _h_net.dhcp_server_stop(srv, out)
    if ip is None:
        raise RuntimeError("no lease in %.0f s: %r" % (WINDOW, seen))
    harness.check_safe(ip)
    socket.inet_aton(ip)
    ack, probes, first = _timeline(env, ip)
    if ack is None or first is None:
        raise RuntimeError("no ACK or no frame from %s in the capture" % ip)
    delay = first - ack
    evidence = {"lease": ip, "ack_to_first_frame_s": round(delay, 2),
                "arp_probes_after_ack_s": [round(t - ack, 2) for t in probes],
                "server_log": seen}
    if delay > LIMIT_S:
        return env.outcome(True, "bound %.1f s after the ACK, after %d ARP probes "
                           "from 0.0.0.0" % (delay, len(probes)), evidence)
    return env.outcome(False, "bound %.1f s after the ACK (%d ARP probes from "
                       "0.0.0.0)" % (delay, len(probes)), evidence)
