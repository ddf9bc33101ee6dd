# SPDX-License-Identifier: MIT
"""Run inside the namespace, for row 24 (tcp_slowtmr's stale prev). Prints
JSON.

  _g_slowtmr.py IFACE LWIP_MAC LWIP_IP PORT PAIRS HOLD_S

PAIRS times, GAP_S apart: a bare SYN to PORT from port SPORT0+i (scapy;
the caller drops the host kernel's RSTs for those ports, so lwIP keeps the
pcb in SYN_RCVD until its 20 s timeout), then DELTA_S later an ordinary
connection to PORT (the kernel's) that stays idle. Then one more idle
connection, and all are held for HOLD_S seconds. Reports the send times
(time.time(), the capture's clock)."""
import ipaddress
import json
import socket
import sys
import time

from scapy.all import IP, TCP, Ether, conf, get_if_hwaddr, sendp  # python3-scapy

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
HOST_IP = "198.18.0.1"
SPORT0 = 42000
GAP_S = 1.3
DELTA_S = 0.5  # one TCP slow-timer tick


def main(iface, lwip_mac, lwip_ip, port, pairs, hold_s):
    for a in (lwip_ip, HOST_IP):
        if ipaddress.ip_address(a) not in SAFE_NET:
            raise SystemExit("refusing %s: outside 198.18.0.0/15" % a)
    hdr = Ether(src=get_if_hwaddr(iface), dst=lwip_mac) / IP(src=HOST_IP, dst=lwip_ip)
    out = {"syn_sent": [], "conn_made": [], "sports": [], "conn_sports": []}
    socks = []
    t0 = time.monotonic()
    for i in range(pairs):
        start = t0 + i * GAP_S
        time.sleep(max(0.0, start - time.monotonic()))  # the schedule, not a wait
        sendp(hdr / TCP(sport=SPORT0 + i, dport=port, flags="S", seq=1000 + i,
                        window=8192, options=[("MSS", 1460)]), iface=iface)
        out["syn_sent"].append(time.time())
        out["sports"].append(SPORT0 + i)
        time.sleep(max(0.0, start + DELTA_S - time.monotonic()))
        s = socket.create_connection((lwip_ip, port), timeout=5)
        out["conn_made"].append(time.time())
        out["conn_sports"].append(s.getsockname()[1])
        socks.append(s)
    socks.append(socket.create_connection((lwip_ip, port), timeout=5))  # the head
    deadline = time.monotonic() + hold_s
    while time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    for s in socks:
        s.close()
    return out


if __name__ == "__main__":
    conf.verb = 0
    a = sys.argv[1:]
    print(json.dumps(main(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]))))
