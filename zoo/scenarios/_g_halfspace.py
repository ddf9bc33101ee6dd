# SPDX-License-Identifier: MIT
"""Run inside the namespace. A hand-made TCP peer (scapy, from the host's own
address; the host kernel's RSTs for its port are dropped by the caller's
iptables rule). Prints JSON.

  _g_halfspace.py IFACE LWIP_MAC LWIP_IP PORT SPORT
      a SYN with sequence number 0x800003e8, then, acknowledging lwIP's
      SYN-ACK, a FIN whose sequence number is 0x3e9: 2^31 behind the
      SYN's (what the frame fuzzer found, tests/fuzz/regressions/frame/
      tcp-seq-half-space-fin.fixed-in-2.2.0)."""
import ipaddress
import json
import sys

from scapy.all import IP, TCP, Ether, conf, get_if_hwaddr, sendp, srp1  # python3-scapy

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
HOST_IP = "198.18.0.1"
ISN = 0x800003E8


def main(iface, lwip_mac, lwip_ip, port, sport):
    for a in (lwip_ip, HOST_IP):
        if ipaddress.ip_address(a) not in SAFE_NET:
            raise SystemExit("refusing %s: outside 198.18.0.0/15" % a)
    hdr = Ether(src=get_if_hwaddr(iface), dst=lwip_mac) / IP(src=HOST_IP, dst=lwip_ip)
    synack = srp1(hdr / TCP(sport=sport, dport=port, flags="S", seq=ISN, window=8192),
                  iface=iface, timeout=3)
    if synack is None or TCP not in synack or synack[TCP].flags & 0x12 != 0x12:
        return {"ok": False, "why": "no SYN-ACK"}
    fin_seq = (ISN + 1 - (1 << 31)) & 0xFFFFFFFF
    sendp(hdr / TCP(sport=sport, dport=port, flags="FA", seq=fin_seq,
                    ack=(synack[TCP].seq + 1) & 0xFFFFFFFF, window=8192), iface=iface)
    return {"ok": True, "syn_seq": ISN, "fin_seq": fin_seq, "lwip_iss": synack[TCP].seq}


if __name__ == "__main__":
    conf.verb = 0
    a = sys.argv[1:]
    print(json.dumps(main(a[0], a[1], a[2], int(a[3]), int(a[4]))))
