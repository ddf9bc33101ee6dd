# SPDX-License-Identifier: MIT
"""A scripted MQTT broker for the zoo's mqtt-fixed-header-overflow entry,
run inside the namespace: `python3 _h_mqtt.py ADDR PORT SECONDS MODE
[PAYLOAD_LEN]`.

It listens on ADDR:PORT (198.18.0.0/15 only), prints "ready", accepts one
client, reads its CONNECT, answers CONNACK (accepted) and then sends one
PUBLISH, QoS 1, packet id 0x4242, with PAYLOAD_LEN payload bytes (1000
unless given):

  crafted     the fixed header's remaining length written in FIXED_HDR_LEN
              bytes (MQTT allows at most 4 after the type byte): the real
              length in the first two, then 0x80 bytes (continuation, value
              0) and a final 0x00. The value is the same as the well-formed
              one's; only the header is long.
  wellformed  the same PUBLISH with a 2-byte remaining length (the control).

Afterwards it reads what the client sends (PUBACKs its publications) until
the client closes, resets or SECONDS pass. stdout: one JSON object per
event ({"event": ...}), the last one {"event": "end", ...}."""
import json
import socket
import sys
import time

TOPIC = b"zoo/mqtt-overflow"
PKT_ID = 0x4242
PAYLOAD_LEN = 1000
FIXED_HDR_LEN = 200  # the type byte and 199 remaining-length bytes


def say(**kw):
    print(json.dumps(kw), flush=True)


def encode_len(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(mode, payload_len=PAYLOAD_LEN):
    """The PUBLISH the broker sends after CONNACK in MODE."""
    body = (len(TOPIC).to_bytes(2, "big") + TOPIC + PKT_ID.to_bytes(2, "big") +
            bytes((0x41 + i % 26) for i in range(payload_len)))
    if mode == "wellformed":
        return b"\x32" + encode_len(len(body)) + body
    n = len(body)
    rl = bytes([0x80 | (n & 0x7F), 0x80 | (n >> 7)])
    rl += b"\x80" * (FIXED_HDR_LEN - 4) + b"\x00"
    assert len(rl) == FIXED_HDR_LEN - 1 and n < 1 << 14
    return b"\x32" + rl + body


class Reader:
    """MQTT packets out of a TCP stream."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def packet(self):
        """(first byte, body) of the next packet; None when the peer closed."""
        while True:
            p = self._parse()
            if p is not None:
                return p
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data

    def _parse(self):
        if len(self.buf) < 2:
            return None
        n, shift, i = 0, 0, 1
        while True:
            if i >= len(self.buf) or i > 4:
                return None
            b = self.buf[i]
            n |= (b & 0x7F) << shift
            shift += 7
            i += 1
            if not b & 0x80:
                break
        if len(self.buf) < i + n:
            return None
        first, body = self.buf[0], self.buf[i:i + n]
        self.buf = self.buf[i + n:]
        return first, body


def serve(conn, mode, payload_len, deadline):
    rd = Reader(conn)
    first, body = rd.packet() or (None, b"")
    if first is None or first >> 4 != 1:
        say(event="error", what="no CONNECT", first=first)
        return
    say(event="connect", length=len(body))
    conn.sendall(b"\x20\x02\x00\x00")
    pkt = publish(mode, payload_len)
    conn.sendall(pkt)
    body_len = 2 + len(TOPIC) + 2 + payload_len
    say(event="sent", mode=mode, length=len(pkt), fixed_header_len=len(pkt) - body_len,
        remaining_length=body_len)
    while time.monotonic() < deadline:
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        got = rd.packet()
        if got is None:
            say(event="closed")
            return
        first, body = got
        kind = first >> 4
        if kind == 4 and len(body) >= 2:  # PUBACK
            pid = int.from_bytes(body[:2], "big")
            say(event="puback", pkt_id=pid, ours=pid == PKT_ID)
        elif kind == 3:  # the client's own publication
            tlen = int.from_bytes(body[:2], "big")
            qos = (first >> 1) & 3
            if qos:
                pid = body[2 + tlen:4 + tlen]
                conn.sendall(b"\x40\x02" + pid)
            say(event="publish", qos=qos)
        elif kind == 12:  # PINGREQ
            conn.sendall(b"\xd0\x00")
            say(event="pingreq")
        else:
            say(event="packet", type=kind)


def main(argv):
    addr, port, seconds, mode = argv[1], int(argv[2]), float(argv[3]), argv[4]
    payload_len = int(argv[5]) if len(argv) > 5 else PAYLOAD_LEN
    if not addr.startswith("198.18.") and not addr.startswith("198.19."):
        raise SystemExit("refusing an address outside 198.18.0.0/15: %s" % addr)
    if mode not in ("crafted", "wellformed"):
        raise SystemExit("mode is crafted or wellformed")
    deadline = time.monotonic() + seconds
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    srv.settimeout(seconds)
    print("ready", flush=True)
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        say(event="end", why="no client")
        return 0
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    say(event="accepted", peer=peer[0])
    why = "done"
    try:
        serve(conn, mode, payload_len, deadline)
    except socket.timeout:
        why = "timeout"
    except OSError as e:
        why = "%s" % e
        say(event="reset", error=str(e))
    finally:
        conn.close()
        srv.close()
    say(event="end", why=why)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
