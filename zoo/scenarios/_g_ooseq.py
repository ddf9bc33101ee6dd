# SPDX-License-Identifier: MIT
"""Run inside the namespace. A hand-made TCP peer (scapy, from the host's own
address; the host kernel's RSTs for its port are dropped by the caller's
iptables rule) for row 12 (ooseq replacement past the receive window).
Prints JSON.

  _g_ooseq.py IFACE LWIP_MAC LWIP_IP PORT SPORT

Connects to lwIP's echo (PORT) offering a zero window, so lwIP cannot send
the echo: once its send buffer is full the echo stops taking data and
lwIP's receive window shrinks with every byte sent. Streams in-order data
until the window lwIP announces is about TARGET bytes (W, right edge
R + W), then sends, out of order: A (R+100, 200 bytes); B (R+W-HALF, 2*HALF
bytes: lwIP trims the last ooseq segment to the window, HALF bytes); B
again, whole (same sequence number, longer: lwIP <= 2.2.0 replaces the
trimmed copy with it, past the window); then the hole from R, in-order.
Reports lwIP's last ACK (number and window) and the sequence numbers."""
import ipaddress
import json
import sys
import threading
import time

from scapy.all import IP, TCP, AsyncSniffer, Ether, conf, get_if_hwaddr, sendp, srp1  # noqa

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
HOST_IP = "198.18.0.1"
ISN = 3000000
MSS = 1460
TARGET = 2400
HALF = 500
ROUNDS = 60


class Peer:
    def __init__(self, iface, lwip_mac, lwip_ip, port, sport):
        for a in (lwip_ip, HOST_IP):
            if ipaddress.ip_address(a) not in SAFE_NET:
                raise SystemExit("refusing %s: outside 198.18.0.0/15" % a)
        self.iface, self.port, self.sport = iface, port, sport
        self.hdr = Ether(src=get_if_hwaddr(iface), dst=lwip_mac) / IP(src=HOST_IP, dst=lwip_ip)
        self.their = None
        self.acks = []  # (ack, window) of lwIP's segments, in order

    def seg(self, seq, data=b"", flags="A"):
        return self.hdr / TCP(sport=self.sport, dport=self.port, flags=flags, seq=seq,
                              ack=self.their, window=0) / data

    def _note(self, p):
        if TCP in p and p[TCP].sport == self.port and p[TCP].dport == self.sport:
            self.acks.append((p[TCP].ack, p[TCP].window))

    def send(self, frames, want_ack=None, timeout=1.5):
        """Send FRAMES; wait up to TIMEOUT s for lwIP's ACK of WANT_ACK.
        Returns lwIP's last (ack, window) or None."""
        ready = threading.Event()
        sn = AsyncSniffer(iface=self.iface, prn=self._note, store=False,
                          filter="tcp and src port %d" % self.port,
                          started_callback=ready.set)
        sn.start()
        if not ready.wait(5):
            raise SystemExit("the sniffer did not start")
        sendp(frames, iface=self.iface)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if want_ack is not None and self.acks and self.acks[-1][0] == want_ack:
                break
            time.sleep(0.05)
        sn.stop()
        return self.acks[-1] if self.acks else None


def payload(n, tag):
    return bytes([tag]) * n


def main(iface, lwip_mac, lwip_ip, port, sport, first=False):
    p = Peer(iface, lwip_mac, lwip_ip, port, sport)
    synack = srp1(p.hdr / TCP(sport=sport, dport=port, flags="S", seq=ISN, window=0,
                              options=[("MSS", MSS)]), iface=iface, timeout=3)
    if synack is None or TCP not in synack or synack[TCP].flags & 0x12 != 0x12:
        return {"ok": False, "why": "no SYN-ACK"}
    p.their = synack[TCP].seq + 1
    nxt, wnd = ISN + 1, synack[TCP].window
    last = p.send([p.seg(nxt)], timeout=0.3)
    streamed = 0
    for _ in range(ROUNDS):
        if wnd <= TARGET:
            break
        n = min(wnd - TARGET, 64 * MSS)
        frames = [p.seg(nxt + off, payload(min(MSS, n - off), 0x41))
                  for off in range(0, n, MSS)]
        last = p.send(frames, want_ack=nxt + n)
        if last is None or last[0] != nxt + n:
            return {"ok": False, "why": "lwIP did not ACK the stream: %r" % (last,)}
        nxt, wnd = last
        streamed += n
    if wnd > TARGET or wnd < 2 * HALF + 400:
        return {"ok": False, "why": "the window did not shrink to about %d: %d" % (TARGET, wnd)}
    r, w = nxt, wnd
    b_seq = r + w - HALF
    trick = [p.seg(r + 100, payload(200, 0x61)),           # A, out of order
             p.seg(b_seq, payload(2 * HALF, 0x62)),          # B: trimmed to HALF
             p.seg(b_seq, payload(2 * HALF, 0x62))]          # B again, whole
    if first:  # B alone, whole: the first (and only) ooseq segment
        trick = [p.seg(b_seq, payload(2 * HALF, 0x62))]
    p.send(trick, timeout=0.5)
    fill = [p.seg(r + off, payload(min(MSS, (b_seq - r) - off), 0x63))
            for off in range(0, b_seq - r, MSS)]
    last = p.send(fill, want_ack=r + w, timeout=2.0)
    return {"ok": True, "streamed": streamed, "rcv_nxt": r, "window": w,
            "right_edge": r + w, "b_seq": b_seq, "b_end": b_seq + 2 * HALF,
            "last_ack": last[0] if last else None,
            "last_window": last[1] if last else None,
            "acked_past_edge": (last[0] - (r + w)) if last else None}


if __name__ == "__main__":
    conf.verb = 0
    a = sys.argv[1:]
    print(json.dumps(main(a[0], a[1], a[2], int(a[3]), int(a[4]), "--first" in a[5:])))
