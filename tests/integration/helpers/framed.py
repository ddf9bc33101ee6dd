# SPDX-License-Identifier: MIT
"""A client of the length-prefixed request/answer protocol of
examples/sockets-server (DoIP-shaped: 4-byte big-endian length, then the
payload), run inside a test's namespace. Prints one JSON object.
Addresses must be in 198.18.0.0/15; every wait is bounded.

  framed.py talk HOST PORT CONNECTIONS REQUESTS [HOLD]
      CONNECTIONS connections at once, REQUESTS requests on each; checks
      each answer is b"ACK:" + request. HOLD: print the result, then keep
      the connections open until a line arrives on stdin (at most 30 s).
  framed.py load HOST PORT CONNECTIONS SECONDS
      Requests of 1-4 KiB on CONNECTIONS connections in turn for SECONDS
      (at most 10^6), until then or until lwipd goes away; {"answers": N}.
  framed.py connect HOST PORT
      {"connected": bool, "error": errno name or null}
"""
import errno
import ipaddress
import json
import socket
import struct
import sys

SAFE = ipaddress.ip_network("198.18.0.0/15")
TIMEOUT_S = 10


def safe(addr):
    if ipaddress.ip_address(addr) not in SAFE:
        sys.exit("framed: %s is outside 198.18.0.0/15" % addr)
    return addr


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def request(s, payload):
    s.sendall(struct.pack(">I", len(payload)) + payload)
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    return recv_exact(s, n)


def talk(host, port, conns, reqs, hold):
    socks = []
    ok = bad = 0
    sample = None
    for c in range(conns):
        s = socket.create_connection((safe(host), port), timeout=TIMEOUT_S)
        socks.append(s)
        for r in range(reqs):
            payload = b"req %d.%d " % (c, r) + bytes(range(256)) * (r % 3)
            answer = request(s, payload)
            if answer == b"ACK:" + payload:
                ok += 1
            else:
                bad += 1
            sample = sample or answer[:16].decode("latin-1")
    print(json.dumps({"ok": ok, "bad": bad, "sample": sample}), flush=True)
    if hold:
        import select
        select.select([sys.stdin], [], [], 30)
    for s in socks:
        s.close()


def load(host, port, conns, seconds):
    import time
    deadline = time.monotonic() + min(seconds, 300)
    answers = 0
    try:
        socks = [socket.create_connection((safe(host), port), timeout=TIMEOUT_S)
                 for _ in range(conns)]
        while time.monotonic() < deadline and answers < 10 ** 6:
            for s in socks:
                payload = bytes([answers & 0xff]) * (1024 + 1024 * (answers % 4))
                if request(s, payload) != b"ACK:" + payload:
                    raise EOFError("wrong answer")
                answers += 1
    except (OSError, EOFError):
        pass  # lwipd stopped (a detected fault): what was answered counts
    return {"answers": answers}


def connect(host, port):
    try:
        s = socket.create_connection((safe(host), port), timeout=TIMEOUT_S)
    except OSError as e:
        return {"connected": False, "error": errno.errorcode.get(e.errno, str(e))}
    s.close()
    return {"connected": True, "error": None}


def main(argv):
    if argv[0] == "talk":
        talk(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), len(argv) > 5)
    elif argv[0] == "load":
        print(json.dumps(load(argv[1], int(argv[2]), int(argv[3]), float(argv[4]))))
    elif argv[0] == "connect":
        print(json.dumps(connect(argv[1], int(argv[2]))))
    else:
        sys.exit("framed: unknown command %s" % argv[0])


if __name__ == "__main__":
    main(sys.argv[1:])
