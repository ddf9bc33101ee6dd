# SPDX-License-Identifier: MIT
"""Misbehaving iperf3 peers for the robustness tests, run inside a
namespace. Each subcommand prints one JSON object. Every address must be in
198.18.0.0/15; every wait is bounded.

  iperf3_raw.py garbage HOST PORT NBYTES SEED
      connect, send NBYTES random bytes and EOF, read what comes back until
      the server closes (or 10 s)
  iperf3_raw.py half-cookie HOST PORT NBYTES HOLD_S
      connect, send the first NBYTES of a cookie, then wait up to HOLD_S
      for the server to close the connection
  iperf3_raw.py params HOST PORT HEX_LENGTH_PREFIX|auto JSON
      a real cookie, wait for PARAM_EXCHANGE, send a parameter message
      (length prefix in hex, or "auto" for the JSON's own length) and
      report the server's answer (SERVER_ERROR code and errno)
  iperf3_raw.py stall-params HOST PORT HOLD_S
      a real cookie, then silence: report what the server sends and when it
      closes (up to HOLD_S)
  iperf3_raw.py busy HOST PORT
      connect and read the first byte without sending anything
"""
import ipaddress
import json
import random
import socket
import struct
import sys
import time

SAFE = ipaddress.ip_network("198.18.0.0/15")
COOKIE = b"abcdefghijklmnopqrstuvwxyz2345672345\0"


def safe(addr):
    if ipaddress.ip_address(addr) not in SAFE:
        sys.exit("iperf3_raw: %s is outside 198.18.0.0/15" % addr)
    return addr


def connect(host, port):
    s = socket.create_connection((safe(host), int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until_close(s, limit_s):
    """Everything the server sends until it closes; (bytes, closed, reset)."""
    got, closed, reset = b"", False, False
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            reset = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
    return got, closed, reset


def decode(answer):
    out = {"answer_hex": answer.hex()}
    if answer[:1] == b"\x09":
        answer = answer[1:]
        out["param_exchange"] = True
    if answer[:1] == b"\xfe" and len(answer) >= 9:
        out["server_error"], out["errno"] = struct.unpack("!ii", answer[1:9])
    elif answer[:1] == b"\xff":
        out["access_denied"] = True
    return out


def garbage(host, port, nbytes, seed):
    rnd = random.Random(int(seed))
    data = bytes(rnd.getrandbits(8) for _ in range(int(nbytes)))
    s = connect(host, port)
    t0 = time.monotonic()
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # and nothing more: EOF
    except OSError:
        pass
    got, closed, reset = read_until_close(s, 10)
    s.close()
    res = decode(got)
    res.update(closed=closed, reset=reset, seconds=round(time.monotonic() - t0, 3))
    return res


def half_cookie(host, port, nbytes, hold_s):
    s = connect(host, port)
    s.sendall(COOKIE[:int(nbytes)])
    t0 = time.monotonic()
    got, closed, reset = read_until_close(s, float(hold_s))
    s.close()
    return {"closed": closed or reset, "answer_hex": got.hex(),
            "seconds": round(time.monotonic() - t0, 3)}


def params(host, port, prefix, body):
    s = connect(host, port)
    s.sendall(COOKIE)
    s.settimeout(10)
    first = s.recv(1)
    body = body.encode()
    head = struct.pack("!I", len(body)) if prefix == "auto" else bytes.fromhex(prefix)
    try:
        s.sendall(head + body)
    except OSError:
        pass
    got, closed, reset = read_until_close(s, 10)
    s.close()
    res = decode(first + got)
    res.update(closed=closed, reset=reset)
    return res


def stall_params(host, port, hold_s):
    s = connect(host, port)
    s.sendall(COOKIE)
    t0 = time.monotonic()
    got, closed, reset = read_until_close(s, float(hold_s))
    s.close()
    res = decode(got)
    res.update(closed=closed, reset=reset, seconds=round(time.monotonic() - t0, 3))
    return res


def busy(host, port):
    s = connect(host, port)
    got, closed, reset = read_until_close(s, 10)
    s.close()
    res = decode(got)
    res.update(closed=closed, reset=reset)
    return res


def main(argv):
    cmd, args = argv[0], argv[1:]
    fn = {"garbage": garbage, "half-cookie": half_cookie, "params": params,
          "stall-params": stall_params, "busy": busy}[cmd]
    print(json.dumps(fn(*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
