# SPDX-License-Identifier: MIT
"""Run inside the namespace (python3 _g_hold.py HOST PORT N): open N echo
connections and keep them, then one more; print as JSON whether the extra
one connected and which of the N still echo (a byte sent, the same byte
back). Every step is bounded: connects 3 s, echoes 2 s."""
import ipaddress
import json
import socket
import sys
import time

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")


def echo_ok(s):
    try:
        s.sendall(b"z")
        return s.recv(1) == b"z", None
    except OSError as e:
        return False, e.__class__.__name__


def main(host, port, n):
    if ipaddress.ip_address(host) not in SAFE_NET:
        raise SystemExit("refusing %s: outside 198.18.0.0/15" % host)
    held, out = [], {"opened": 0, "open_errors": {}}
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=3)
            s.settimeout(2)
            held.append(s)
        except OSError as e:
            out["open_errors"][i] = e.__class__.__name__
            break
    out["opened"] = len(held)
    out["ports"] = [s.getsockname()[1] for s in held]
    out["echo_before"] = sum(echo_ok(s)[0] for s in held)
    time.sleep(0.2)  # let the last ACKs of the echoes settle
    try:
        extra = socket.create_connection((host, port), timeout=3)
        extra.settimeout(2)
        out["extra_connected"] = True
        out["extra_echo"] = echo_ok(extra)[0]
        held.append(extra)
    except OSError as e:
        out["extra_connected"] = False
        out["extra_error"] = e.__class__.__name__
    broken = {}
    for i, s in enumerate(held[:out["opened"]]):
        ok, err = echo_ok(s)
        if not ok:
            broken[i] = err or "no echo"
    out["broken"] = broken
    for s in held:
        s.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
