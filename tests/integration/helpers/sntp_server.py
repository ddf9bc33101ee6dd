# SPDX-License-Identifier: MIT
"""A scripted SNTP server for the tests: answers COUNT client requests
(mode 3) on ADDR:123 with a server reply (mode 4, stratum 1) carrying the
fixed time UNIX_TIME, then prints one JSON object and exits; it gives up
after SECONDS. ADDR must be in 198.18.0.0/15.

  sntp_server.py ADDR UNIX_TIME COUNT SECONDS
"""
import ipaddress
import json
import socket
import struct
import sys
import time

SAFE = ipaddress.ip_network("198.18.0.0/15")
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 to 1970
HEADER = struct.Struct("!BBbbII4sQQQQ")


def reply(request, unix_time):
    """The 48-byte mode-4 answer to REQUEST: LI 0, version as asked, stratum
    1, originate = the request's transmit time, receive = transmit = the
    fixed time."""
    li_vn_mode = request[0]
    version = (li_vn_mode >> 3) & 7 or 4
    client_tx = struct.unpack("!Q", request[40:48])[0]
    now = (unix_time + NTP_EPOCH_OFFSET) << 32
    return HEADER.pack((version << 3) | 4, 1, 6, -20, 0, 0, b"GPS\0", now, client_tx, now, now)


def main(argv):
    addr, unix_time, count, seconds = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    if ipaddress.ip_address(addr) not in SAFE:
        sys.exit("sntp_server: %s is outside 198.18.0.0/15" % addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 123))
    deadline = time.monotonic() + seconds
    requests = []
    while len(requests) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(512)
        except socket.timeout:
            break
        if len(data) < 48:
            continue
        mode, version = data[0] & 7, (data[0] >> 3) & 7
        requests.append({"from": peer[0], "port": peer[1], "mode": mode, "version": version})
        if mode == 3:
            s.sendto(reply(data, unix_time), peer)
    s.close()
    print(json.dumps({"answered": sum(1 for r in requests if r["mode"] == 3),
                      "requests": requests}))


if __name__ == "__main__":
    main(sys.argv[1:])
