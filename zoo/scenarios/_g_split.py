# SPDX-License-Identifier: MIT
"""Run inside the namespace. A hand-made TCP peer (scapy, from the host's own
address; the host kernel's RSTs for its port are dropped by the caller's
iptables rule). Prints JSON.

  _g_split.py connect IFACE LWIP_MAC LWIP_IP PORT SPORT NBYTES
      connect to PORT offering a 2000-byte window (lwIP then writes
      segments of up to 1000 bytes: half the largest window seen), send
      NBYTES, wait for lwIP's ACK of them; their echo is never acknowledged;
  _g_split.py window IFACE LWIP_MAC LWIP_IP PORT SPORT SEQ ACK WINDOW
      a pure ACK (SEQ, ACK) that sets the window to WINDOW bytes."""
import ipaddress
import json
import sys

from scapy.all import IP, TCP, Ether, conf, get_if_hwaddr, sendp, sniff, srp1  # python3-scapy

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
HOST_IP = "198.18.0.1"
ISN = 1000000


def headers(iface, lwip_mac, lwip_ip):
    for a in (lwip_ip, HOST_IP):
        if ipaddress.ip_address(a) not in SAFE_NET:
            raise SystemExit("refusing %s: outside 198.18.0.0/15" % a)
    return Ether(src=get_if_hwaddr(iface), dst=lwip_mac) / IP(src=HOST_IP, dst=lwip_ip)


def connect(iface, lwip_mac, lwip_ip, port, sport, nbytes):
    hdr = headers(iface, lwip_mac, lwip_ip)
    syn = hdr / TCP(sport=sport, dport=port, flags="S", seq=ISN, window=2000,
                    options=[("MSS", 1460)])
    synack = srp1(syn, iface=iface, timeout=3)
    if synack is None or TCP not in synack or synack[TCP].flags & 0x12 != 0x12:
        return {"ok": False, "why": "no SYN-ACK"}
    their = synack[TCP].seq + 1
    sendp(hdr / TCP(sport=sport, dport=port, flags="A", seq=ISN + 1, ack=their, window=2000),
          iface=iface)
    data = bytes((i * 7) & 0xFF for i in range(nbytes))
    want = ISN + 1 + nbytes

    def is_ack(p):
        return (TCP in p and p[TCP].sport == port and p[TCP].dport == sport and
                p[TCP].flags & 0x10 and p[TCP].ack == want)

    def send_data():
        sendp(hdr / TCP(sport=sport, dport=port, flags="PA", seq=ISN + 1, ack=their,
                        window=2000) / data, iface=iface)

    acked = sniff(iface=iface, lfilter=is_ack, count=1, timeout=5, started_callback=send_data)
    return {"ok": bool(acked), "why": "" if acked else "data not ACKed", "seq": want,
            "ack": their}


def window(iface, lwip_mac, lwip_ip, port, sport, seq, ack, wnd):
    hdr = headers(iface, lwip_mac, lwip_ip)
    sendp(hdr / TCP(sport=sport, dport=port, flags="A", seq=seq, ack=ack, window=wnd),
          iface=iface)
    return {"ok": True}


if __name__ == "__main__":
    conf.verb = 0
    a = sys.argv[2:]
    if sys.argv[1] == "connect":
        out = connect(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    else:
        out = window(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]))
    print(json.dumps(out))
