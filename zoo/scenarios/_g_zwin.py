# SPDX-License-Identifier: MIT
"""Run inside the namespace: python3 _g_zwin.py HOST PORT SECONDS. Connects
to a sending service (chargen) with a tiny receive buffer and never reads,
so the window closes and stays closed; waits up to SECONDS for the peer to
reset the connection (poll for POLLERR/POLLHUP: no reading). Prints JSON."""
import ipaddress
import json
import select
import socket
import sys
import time

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")


def main(host, port, seconds):
    if ipaddress.ip_address(host) not in SAFE_NET:
        raise SystemExit("refusing %s: outside 198.18.0.0/15" % host)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((host, port))
    t0 = time.monotonic()
    p = select.poll()
    p.register(s.fileno(), select.POLLPRI)  # POLLERR/POLLHUP always come
    ev = p.poll(seconds * 1000)
    out = {"reset": bool(ev and ev[0][1] & (select.POLLERR | select.POLLHUP)),
           "seconds": round(time.monotonic() - t0, 2)}
    s.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
