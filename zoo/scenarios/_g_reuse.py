# SPDX-License-Identifier: MIT
"""Run inside the namespace: python3 _g_reuse.py [--serve] HOST PORT
LOCAL_PORT. Connects from LOCAL_PORT, sends a byte, reads it back and the
server's close (the server closes first, so its end is in TIME_WAIT),
closes, then connects again from the same LOCAL_PORT at once. With --serve
the server is the kernel's, in a thread of this script on HOST:PORT (the
oracle). Prints JSON. Every step is bounded: connects 5 s, reads 3 s."""
import errno
import ipaddress
import json
import socket
import sys
import threading
import time

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
CONNECT_S = 5


def serve(lsock, count):
    """The oracle: accept COUNT connections, echo one byte, close first."""
    for _ in range(count):
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        c.settimeout(3)
        try:
            b = c.recv(1)
            if b:
                c.sendall(b)
        except OSError:
            pass
        c.close()


def once(host, port, local_port):
    """One exchange; returns a dict (connected, echo, closed_by_peer,
    error, seconds)."""
    out = {"connected": False, "echo": False, "closed_by_peer": False,
           "error": None}
    t0 = time.monotonic()
    deadline = t0 + 2
    while True:  # the previous connection's 4-tuple may linger an instant
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(CONNECT_S)
        try:
            s.bind(("", local_port))
            s.connect((host, port))
            break
        except OSError as e:
            s.close()
            busy = e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL)
            if busy and time.monotonic() < deadline:
                time.sleep(0.01)
                continue
            out["error"] = e.__class__.__name__
            out["seconds"] = round(time.monotonic() - t0, 3)
            return out
    out["connected"] = True
    s.settimeout(3)
    try:
        s.sendall(b"r")
        out["echo"] = s.recv(1) == b"r"
        out["closed_by_peer"] = s.recv(1) == b""
    except OSError as e:
        out["error"] = e.__class__.__name__
    s.close()
    out["seconds"] = round(time.monotonic() - t0, 3)
    return out


def main(argv):
    oracle = argv[0] == "--serve"
    if oracle:
        argv = argv[1:]
    host, port, local_port = argv[0], int(argv[1]), int(argv[2])
    if ipaddress.ip_address(host) not in SAFE_NET:
        raise SystemExit("refusing %s: outside 198.18.0.0/15" % host)
    t = None
    if oracle:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((host, port))
        lsock.listen(4)
        lsock.settimeout(CONNECT_S + 5)
        t = threading.Thread(target=serve, args=(lsock, 2), daemon=True)
        t.start()
    first = once(host, port, local_port)
    second = once(host, port, local_port) if first["closed_by_peer"] else None
    if t is not None:
        lsock.close()
        t.join(5)
    print(json.dumps({"first": first, "second": second}))


if __name__ == "__main__":
    main(sys.argv[1:])
