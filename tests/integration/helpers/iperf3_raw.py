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
  iperf3_raw.py foreign HOST PORT
      a 2-stream TCP test during whose CREATE_STREAMS a foreign cookie, a
      cookie one character off and a zero-byte connection arrive
  iperf3_raw.py vanish HOST PORT fin|rst
      stop in CREATE_STREAMS, print {"ready": true}, wait to be killed
  iperf3_raw.py no-done HOST PORT
      a 2-stream TCP test up to DISPLAY_RESULTS, then no IPERF_DONE: print
      {"ready": true}, wait to be killed
"""
import fcntl
import ipaddress
import json
import random
import socket
import struct
import sys
import termios
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


# A scripted 3.12 client that can be stopped at any step (the stock one runs
# CREATE_STREAMS in one go).
RAW_COOKIE = b"rawclientcookieabcdefghijklmnopqrstu\0"
RAW_PARAMS = json.dumps({"tcp": True, "omit": 0, "time": 1, "num": 0, "blockcount": 0,
                         "parallel": 2, "len": 131072, "pacing_timer": 1000,
                         "client_version": "3.12"}).encode()


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed after %r" % b)
        b += c
    return b


def expect(s, state):
    b = recv_exact(s, 1)
    if b[0] != state:
        raise AssertionError("expected state %d, got %d" % (state, b[0]))


def until_close(s, limit=10):
    got, closed, reset = read_until_close(s, limit)
    s.close()
    return {"answer_hex": got.hex(), "closed": closed, "reset": reset}


def setup(host, port, consume_create=True):
    c = connect(host, port)
    c.sendall(RAW_COOKIE)
    expect(c, 9)  # PARAM_EXCHANGE
    c.sendall(struct.pack("!I", len(RAW_PARAMS)) + RAW_PARAMS)
    if consume_create:
        expect(c, 10)  # CREATE_STREAMS
    elif c.recv(1, socket.MSG_PEEK) != b"\x0a":
        raise AssertionError("no CREATE_STREAMS")
    d1 = connect(host, port)
    d1.sendall(RAW_COOKIE)
    return c, d1


def acked(s):
    return struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0\0\0\0"))[0] == 0


def foreign(host, port):
    """A 2-stream TCP test; while the server waits for the second data
    connection, a foreign cookie, a cookie one character off and a
    zero-byte connection arrive; then the test runs to its end with known
    byte counts."""
    c, d1 = setup(host, port)
    out = {}
    f = connect(host, port)
    f.sendall(b"someoneelsescookie234567abcdefghijkl\0")
    out["foreign"] = until_close(f)
    f = connect(host, port)
    f.sendall(RAW_COOKIE[:35] + b"v\0")
    out["near_miss"] = until_close(f)
    f = connect(host, port)
    f.close()  # connect, then nothing: EOF
    d2 = connect(host, port)
    d2.sendall(RAW_COOKIE)
    expect(c, 1)  # TEST_START
    expect(c, 2)  # TEST_RUNNING
    sent = [3 << 20, 1 << 20]
    t0 = time.monotonic()
    for s, n in zip((d1, d2), sent):
        s.sendall(bytes(n))
    # TEST_END only once the server has acknowledged every byte, so its
    # count must be exactly ours
    deadline = time.monotonic() + 10
    while not (acked(d1) and acked(d2)):
        if time.monotonic() > deadline:
            raise AssertionError("data not acknowledged in 10 s")
        time.sleep(0.005)
    secs = time.monotonic() - t0
    c.sendall(b"\x04")  # TEST_END
    expect(c, 13)  # EXCHANGE_RESULTS
    mine = json.dumps({"cpu_util_total": 0, "cpu_util_user": 0, "cpu_util_system": 0,
                       "sender_has_retransmits": 0, "streams": [
                           {"id": i, "bytes": n, "retransmits": 0, "jitter": 0, "errors": 0,
                            "packets": 0, "start_time": 0, "end_time": secs}
                           for i, n in zip((1, 3), sent)]}).encode()
    c.sendall(struct.pack("!I", len(mine)) + mine)
    n = struct.unpack("!I", recv_exact(c, 4))[0]
    out["server_results"] = json.loads(recv_exact(c, n))
    expect(c, 14)  # DISPLAY_RESULTS
    c.sendall(b"\x10")  # IPERF_DONE
    out["sent"] = sent
    out["end"] = until_close(c)
    d1.close()
    d2.close()
    return out


def vanish(host, port, how):
    """Stop in CREATE_STREAMS with one of two data connections made, print
    "ready" and wait to be killed (rst: the CREATE_STREAMS byte is left
    unread, so the kernel resets the control connection at exit)."""
    c, d1 = setup(host, port, consume_create=(how == "fin"))
    print(json.dumps({"ready": True}), flush=True)
    time.sleep(60)  # the test kills us long before
    return {"killed": False, "sockets": [c.fileno(), d1.fileno()]}


def no_done(host, port):
    """A whole 2-stream TCP test whose IPERF_DONE never comes (a client
    gone, or its last segment late): print "ready" after DISPLAY_RESULTS
    and wait to be killed, the control connection open."""
    c, d1 = setup(host, port)
    d2 = connect(host, port)
    d2.sendall(RAW_COOKIE)
    expect(c, 1)  # TEST_START
    expect(c, 2)  # TEST_RUNNING
    for s in (d1, d2):
        s.sendall(bytes(1 << 20))
    c.sendall(b"\x04")  # TEST_END
    expect(c, 13)  # EXCHANGE_RESULTS
    mine = json.dumps({"cpu_util_total": 0, "cpu_util_user": 0, "cpu_util_system": 0,
                       "sender_has_retransmits": 0, "streams": [
                           {"id": i, "bytes": 1 << 20, "retransmits": 0, "jitter": 0,
                            "errors": 0, "packets": 0, "start_time": 0, "end_time": 1}
                           for i in (1, 3)]}).encode()
    c.sendall(struct.pack("!I", len(mine)) + mine)
    n = struct.unpack("!I", recv_exact(c, 4))[0]
    recv_exact(c, n)
    expect(c, 14)  # DISPLAY_RESULTS
    print(json.dumps({"ready": True}), flush=True)
    time.sleep(60)  # the test kills us long before
    return {"killed": False, "sockets": [c.fileno(), d1.fileno(), d2.fileno()]}


def main(argv):
    cmd, args = argv[0], argv[1:]
    fn = {"garbage": garbage, "half-cookie": half_cookie, "params": params,
          "stall-params": stall_params, "busy": busy, "foreign": foreign,
          "vanish": vanish, "no-done": no_done}[cmd]
    print(json.dumps(fn(*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
