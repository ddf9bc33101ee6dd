# SPDX-License-Identifier: MIT
"""Host-side traffic tools the integration tests run inside a namespace.
Each subcommand prints one JSON object. Every address must be in
198.18.0.0/15; every loop is bounded in count and time.

  nettools.py tcp-echo HOST PORT NBYTES
  nettools.py tcp-echo-paced HOST PORT NBYTES CHUNK GAP_S
  nettools.py tcp-echo-parallel HOST PORT NBYTES CONNECTIONS
  nettools.py tcp-send HOST PORT NBYTES
  nettools.py tcp-recv HOST PORT NBYTES
  nettools.py tcp-sink HOST PORT SECONDS
  nettools.py carrier-watch IFACE SECONDS
  nettools.py udp-echo HOST PORT COUNT SIZE
  nettools.py udp-send HOST PORT COUNT SIZE
  nettools.py udp-chargen HOST PORT COUNT
  nettools.py inject IFACE DST_MAC SRC_IP DST_IP COUNT SEED
"""
import hashlib
import ipaddress
import json
import random
import socket
import struct
import sys
import threading
import time

SAFE = ipaddress.ip_network("198.18.0.0/15")
DEADLINE_S = 300


def safe(addr):
    if ipaddress.ip_address(addr) not in SAFE:
        sys.exit("nettools: %s is outside 198.18.0.0/15" % addr)
    return addr


def payload(n, seed=1):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(min(n, 65536))) * (n // 65536 + 1)


def chargen_line(n):
    return bytes(32 + (n + i) % 95 for i in range(72)) + b"\r\n"


def tcp_echo(host, port, nbytes, seed=1, chunk=0, gap=0.0):
    """NBYTES of payload(SEED) through an echo service and back; CHUNK > 0
    writes it CHUNK bytes at a time, GAP seconds apart (pacing)."""
    data = payload(nbytes, seed)[:nbytes]
    s = socket.create_connection((safe(host), port), timeout=10)
    s.settimeout(DEADLINE_S)  # lossy links stall for seconds at a time
    got = bytearray()
    err = []

    def reader():
        try:
            while len(got) < nbytes:
                chunk_in = s.recv(262144)
                if not chunk_in:
                    break
                got.extend(chunk_in)
        except OSError as e:
            err.append(str(e))

    t0 = time.monotonic()
    t = threading.Thread(target=reader)
    t.start()
    try:
        for off in range(0, nbytes, chunk or nbytes or 1):  # bounded: nbytes / chunk
            s.sendall(data[off:off + (chunk or nbytes)])
            if chunk:
                time.sleep(gap)
    except OSError as e:
        err.append(str(e))
    t.join(DEADLINE_S)
    local_port = s.getsockname()[1]
    s.close()
    secs = time.monotonic() - t0
    return {"sent": nbytes, "received": len(got), "match": bytes(got) == data,
            "sha256": hashlib.sha256(bytes(got)).hexdigest(), "seconds": secs, "errors": err,
            "port": local_port}


def tcp_echo_parallel(host, port, nbytes, conns):
    """NBYTES split over CONNS echo connections at once, each with its own
    bytes (a mix-up cannot pass); one result per connection."""
    res = [None] * conns

    def one(i):
        res[i] = tcp_echo(host, port, nbytes // conns, seed=i + 2)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(DEADLINE_S + 30)
    return res


def tcp_send(host, port, nbytes):
    data = payload(nbytes)[:nbytes]
    s = socket.create_connection((safe(host), port), timeout=10)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    try:
        extra = s.recv(1)  # wait for lwIP's FIN: everything was taken
    except OSError:
        extra = b""
    s.close()
    return {"sent": nbytes, "peer_sent": len(extra)}


def tcp_recv(host, port, nbytes):
    s = socket.create_connection((safe(host), port), timeout=10)
    got = bytearray()
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < nbytes and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        got.extend(chunk)
    s.close()
    got = bytes(got[:nbytes])
    # RFC 864: lines of 72 characters + CRLF, each starting one character on.
    lines = [got[i:i + 74] for i in range(0, len(got) - len(got) % 74, 74)]
    ok = all(line == chargen_line(n) for n, line in enumerate(lines))
    return {"received": len(got), "lines": len(lines), "pattern_ok": ok and len(lines) > 0}


def tcp_sink(host, port, seconds):
    """Read whatever the peer sends for SECONDS (e.g. chargen), then close."""
    s = socket.create_connection((safe(host), port), timeout=10)
    s.settimeout(1)
    total, deadline = 0, time.monotonic() + min(seconds, DEADLINE_S * 10)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(262144)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        total += len(chunk)
    s.close()
    return {"received": total}


def carrier_watch(iface, seconds):
    """Poll /sys/class/net/IFACE/carrier every millisecond for SECONDS and
    return the transitions, with CLOCK_REALTIME stamps (the events' clock).
    Says "watching" on stderr once the first sample is taken."""
    path = "/sys/class/net/%s/carrier" % iface
    end = time.monotonic() + min(seconds, 120)
    last, changes = None, []
    while time.monotonic() < end:
        try:
            with open(path) as f:
                v = f.read().strip() == "1"
        except OSError:
            v = False
        if v != last:
            changes.append({"carrier": v, "ts": time.time()})
            if last is None:  # the first sample is in: a caller may start the edges now
                print("watching", file=sys.stderr, flush=True)
            last = v
        time.sleep(0.001)
    return {"changes": changes}


def udp_echo(host, port, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((safe(host), port))
    ok = 0
    for i in range(count):
        msg = struct.pack("!I", i) + payload(size, seed=i)[:size - 4]
        s.send(msg)
        try:
            if s.recv(65536) == msg:
                ok += 1
        except socket.timeout:
            pass
    s.close()
    return {"sent": count, "echoed": ok}


def udp_send(host, port, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        s.sendto(payload(size, seed=i)[:size], (safe(host), port))
        time.sleep(0.001)
    s.close()
    return {"sent": count}


def udp_chargen(host, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((safe(host), port))
    replies, ok = 0, 0
    for _ in range(count):
        s.send(b"x")
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        replies += 1
        expect = b"".join(chargen_line(n) for n in range(8))[:len(d)]
        if 1 <= len(d) <= 512 and d == expect:
            ok += 1
    s.close()
    return {"sent": count, "replies": replies, "pattern_ok": ok}


def inject(iface, dst_mac, src_ip, dst_ip, count, seed):
    """COUNT malformed frames at DST_MAC: random bytes, truncated Ethernet, IP,
    TCP, UDP, ICMP and ARP headers, lying length fields. Any IPv4 or ARP
    address field a frame is long enough to hold is set to SRC_IP/DST_IP, so
    whatever lwIP answers stays inside 198.18.0.0/15."""
    rnd = random.Random(seed)
    dst = bytes(int(x, 16) for x in dst_mac.split(":"))
    src = bytes([0x02, 0x99, 0, 0, 0, 1])
    sip, dip = socket.inet_aton(safe(src_ip)), socket.inet_aton(safe(dst_ip))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    kinds = {}

    def rb(n):
        return bytes(rnd.getrandbits(8) for _ in range(n))

    def ip_header(proto, total_len, ihl=5):
        # The header is always 20 bytes; IHL may lie about it.
        h = bytearray(rb(max(ihl, 5) * 4))
        h[0] = 0x40 | (ihl & 0xF)
        struct.pack_into("!H", h, 2, total_len & 0xFFFF)
        h[9] = proto
        if len(h) >= 20:
            h[12:16], h[16:20] = sip, dip
        return bytes(h)

    for i in range(count):
        kind = rnd.choice(["random", "short-eth", "ip-trunc", "ip-badlen", "ip-badihl",
                           "tcp-trunc", "udp-badlen", "icmp-trunc", "arp-trunc", "ip-frag"])
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "random":
            et = rnd.choice([b"\x08\x00", b"\x08\x06", rb(2)])
            frame = dst + src + et + rb(rnd.randint(0, 1500))
            if et == b"\x08\x00" and len(frame) >= 34:
                frame = frame[:26] + sip + dip + frame[34:]
        elif kind == "short-eth":
            # The kernel refuses frames under 14 bytes at the TAP, so the
            # shortest lwIP can see is a bare Ethernet header.
            frame = dst + src + rnd.choice([b"\x08\x00", b"\x08\x06", b"\x81\x00"])
        elif kind == "ip-trunc":
            frame = (dst + src + b"\x08\x00" +
                     ip_header(rnd.randint(0, 255), 1500)[:rnd.randint(0, 19)])
        elif kind == "ip-badlen":
            frame = (dst + src + b"\x08\x00" +
                     ip_header(17, rnd.choice([0, 1, 19, 65535, 3000])) + rb(rnd.randint(0, 64)))
        elif kind == "ip-badihl":
            frame = (dst + src + b"\x08\x00" +
                     ip_header(6, 60, ihl=rnd.choice([0, 1, 4, 15])) + rb(40))
        elif kind == "tcp-trunc":
            body = rb(rnd.randint(0, 19))
            frame = dst + src + b"\x08\x00" + ip_header(6, 20 + len(body)) + body
        elif kind == "udp-badlen":
            udp = bytearray(rb(8 + rnd.randint(0, 32)))
            struct.pack_into("!H", udp, 4, rnd.choice([0, 7, 9000]))
            frame = dst + src + b"\x08\x00" + ip_header(17, 20 + len(udp)) + bytes(udp)
        elif kind == "icmp-trunc":
            body = bytes([8, 0]) + rb(rnd.randint(0, 5))
            frame = dst + src + b"\x08\x00" + ip_header(1, 20 + len(body)) + body
        elif kind == "ip-frag":
            h = bytearray(ip_header(17, 20 + 64))
            struct.pack_into("!H", h, 6, rnd.getrandbits(16))
            frame = dst + src + b"\x08\x00" + bytes(h) + rb(64)
        else:  # arp-trunc
            arp = bytearray(b"\x00\x01\x08\x00\x06\x04" + struct.pack("!H", rnd.choice([1, 2, 9])) +
                            src + sip + dst + dip)
            frame = dst + src + b"\x08\x06" + bytes(arp[:rnd.randint(0, 27)])
        try:
            s.send(frame)
        except OSError:
            kinds["send-failed"] = kinds.get("send-failed", 0) + 1
        if i % 500 == 499:
            time.sleep(0.01)  # let lwIP's RX keep up; the point is content, not load
    s.close()
    return {"sent": count, "kinds": kinds}


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "tcp-echo":
        r = tcp_echo(args[0], int(args[1]), int(args[2]))
    elif cmd == "tcp-echo-paced":
        r = tcp_echo(args[0], int(args[1]), int(args[2]), chunk=int(args[3]), gap=float(args[4]))
    elif cmd == "tcp-echo-parallel":
        r = tcp_echo_parallel(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "tcp-send":
        r = tcp_send(args[0], int(args[1]), int(args[2]))
    elif cmd == "tcp-recv":
        r = tcp_recv(args[0], int(args[1]), int(args[2]))
    elif cmd == "tcp-sink":
        r = tcp_sink(args[0], int(args[1]), float(args[2]))
    elif cmd == "carrier-watch":
        r = carrier_watch(args[0], float(args[1]))
    elif cmd == "udp-echo":
        r = udp_echo(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "udp-send":
        r = udp_send(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "udp-chargen":
        r = udp_chargen(args[0], int(args[1]), int(args[2]))
    elif cmd == "inject":
        r = inject(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    else:
        sys.exit("nettools: unknown command %s" % cmd)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
