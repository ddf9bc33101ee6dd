# SPDX-License-Identifier: MIT
"""A scripted DHCP server for the zoo, run inside the namespace on the
TAP's host side (198.18.0.1):

  python3 _h_dhcp.py IFACE SECONDS [--first-offer-without-server-id]
                                  [--first-offer-bad-lease-length]
                                  [--overload-file] [--dns-servers N]

answers every DISCOVER with an OFFER of 198.18.0.50 and every REQUEST for
it with an ACK (server id 198.18.0.1, mask /24, lease 1 h); with
--first-offer-without-server-id its first OFFER lacks option 54 (server
identifier); with --first-offer-bad-lease-length its first OFFER's lease
time (option 51) is 2 bytes long instead of 4; with --overload-file every
reply carries option 52 (overload: 1, the file field holds options) and a
file field that holds only the end option; with --dns-servers N every
reply carries option 6 with N DNS servers (198.18.0.101, .102, ...). Prints "ready" once
listening, then one JSON line per message it saw and what it answered;
exits after SECONDS.
"""
import json
import socket
import sys
import time

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, Raw, raw  # python3-scapy

SERVER = "198.18.0.1"
OFFERED = "198.18.0.50"
TYPES = {1: "discover", 3: "request", 4: "decline", 7: "release",
         8: "inform"}


def _msg_type(pkt):
    for opt in pkt[DHCP].options:
        if isinstance(opt, tuple) and opt[0] == "message-type":
            return opt[1]
    return None


def _reply(req, mac, kind, server_id=True, overload=False, dns=0):
    opts = [("message-type", kind)]
    if server_id:
        opts.append(("server_id", SERVER))
    opts += [("subnet_mask", "255.255.255.0"), ("lease_time", 3600)]
    if dns:
        opts.append(tuple(["name_server"] +
                          ["198.18.0.%d" % (101 + i) for i in range(dns)]))
    if overload:
        opts.append(("dhcp-option-overload", 1))
    opts.append("end")
    extra = {"file": b"\xff" + bytes(127)} if overload else {}
    return (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
            IP(src=SERVER, dst="255.255.255.255") /
            UDP(sport=67, dport=68) /
            BOOTP(op=2, xid=req[BOOTP].xid, yiaddr=OFFERED, siaddr=SERVER,
                  chaddr=req[BOOTP].chaddr, flags=req[BOOTP].flags, **extra) /
            DHCP(options=opts))


def _offer_bad_lease_length(req, mac):
    """An OFFER whose options are written by hand: option 51 (lease time)
    with length 2, which RFC 2132 fixes at 4."""
    opts = bytes([53, 1, 2, 54, 4]) + socket.inet_aton(SERVER) + \
        bytes([1, 4, 255, 255, 255, 0, 51, 2, 0x0e, 0x10, 255])
    return (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
            IP(src=SERVER, dst="255.255.255.255") /
            UDP(sport=67, dport=68) /
            BOOTP(op=2, xid=req[BOOTP].xid, yiaddr=OFFERED, siaddr=SERVER,
                  chaddr=req[BOOTP].chaddr, flags=req[BOOTP].flags) /
            Raw(load=b"\x63\x82\x53\x63" + opts))  # the magic cookie, then the options


def main(argv):
    iface, seconds = argv[0], float(argv[1])
    no_sid_first = "--first-offer-without-server-id" in argv[2:]
    bad_lease_first = "--first-offer-bad-lease-length" in argv[2:]
    overload = "--overload-file" in argv[2:]
    dns = int(argv[argv.index("--dns-servers") + 1]) if "--dns-servers" in argv else 0
    with open("/sys/class/net/%s/address" % iface) as f:
        mac = f.read().strip()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    t0 = time.monotonic()
    offers = 0
    print("ready", flush=True)
    while time.monotonic() - t0 < seconds:
        s.settimeout(max(0.05, seconds - (time.monotonic() - t0)))
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        pkt = Ether(data)
        if DHCP not in pkt or pkt[BOOTP].op != 1 or pkt.src == mac:
            continue
        kind = TYPES.get(_msg_type(pkt), str(_msg_type(pkt)))
        ev = {"t": round(time.monotonic() - t0, 3), "msg": kind,
              "xid": pkt[BOOTP].xid}
        if kind == "discover":
            offers += 1
            sid = not (no_sid_first and offers == 1)
            if bad_lease_first and offers == 1:
                s.send(raw(_offer_bad_lease_length(pkt, mac)))
                ev["answer"] = "offer-lease-time-2-bytes"
            else:
                s.send(raw(_reply(pkt, mac, "offer", server_id=sid, overload=overload,
                                  dns=dns)))
                ev["answer"] = "offer" if sid else "offer-without-server-id"
        elif kind == "request":
            s.send(raw(_reply(pkt, mac, "ack", overload=overload, dns=dns)))
            ev["answer"] = "ack"
        print(json.dumps(ev), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
