# SPDX-License-Identifier: MIT
"""Host-side helpers for the zoo scenarios of rows 17-20 and 29: frames
written into the TAP from the namespace's side, lwipd's capture read
back as scapy packets, and the scripted DHCP server (_h_dhcp.py) started
and stopped.

Imported by the scenarios (runner side); run as a script inside the
namespace (`python3 _h_net.py send IFACE GAP_S HEX...`) to write raw
Ethernet frames with an AF_PACKET socket.
"""
import json
import os
import select
import socket
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)
PYTHON = "/usr/bin/python3"
DHCP_SCRIPT = os.path.join(os.path.dirname(HERE), "_h_dhcp.py")


def dhcp_server(env, seconds, *flags):
    """Start the scripted DHCP server (_h_dhcp.py FLAGS) in the namespace for
    SECONDS; return (process, its log file in env.dir) once it listens."""
    out = open(os.path.join(env.dir, "dhcp-server.jsonl"), "w")
    srv = env.ns.popen([PYTHON, DHCP_SCRIPT, env.ns.tap, str(seconds)] + list(flags),
                       stdout=subprocess.PIPE, stderr=out, text=True)
    rd, _, _ = select.select([srv.stdout], [], [], 30)
    line = srv.stdout.readline() if rd else ""
    if line.strip() != "ready":
        srv.kill()
        srv.wait(timeout=10)
        out.close()
        raise RuntimeError("the DHCP server did not start: %r" % line)
    return srv, out


def dhcp_server_stop(srv, out):
    """Stop the server dhcp_server() started; its messages, one dict each
    (what it saw and answered), also kept in its log file."""
    if srv.poll() is None:
        srv.terminate()
    rest = srv.communicate(timeout=10)[0]
    out.write(rest)
    out.close()
    return [json.loads(x) for x in rest.splitlines() if x.startswith("{")]


def host_mac(env):
    """The MAC of the namespace's side of the TAP, "aa:bb:..."."""
    path = "/sys/class/net/%s/address" % env.ns.tap
    return env.ns.run(["cat", path]).stdout.strip()


def send(env, frames, gap_s=0.0):
    """Write FRAMES (bytes each) into the TAP from the host side, in order,
    GAP_S seconds apart (0: back to back)."""
    env.ns.run([PYTHON, HERE, "send", env.ns.tap, "%g" % gap_s] +
               [bytes(f).hex() for f in frames], timeout=60)


def captured(env, d=None):
    """[(ts, scapy Ether, "tx"|"rx")] of the daemon's capture, stopped
    first so that every frame is in the file; "tx" frames are lwIP's (its
    MAC as the source)."""
    from scapy.all import Ether  # Debian python3-scapy

    from lwipd import testing as harness
    d = d or env.d
    d.request({"cmd": "capture", "op": "stop"})
    ours = d.mac.lower()
    out = []
    for ts, raw in harness.read_pcap(d.pcap):
        pkt = Ether(raw)
        out.append((ts, pkt, "tx" if pkt.src.lower() == ours else "rx"))
    return out


def _main(argv):
    if len(argv) >= 3 and argv[0] == "send":
        iface, gap = argv[1], float(argv[2])
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        for i, h in enumerate(argv[3:]):
            if i and gap:
                time.sleep(gap)
            frame = bytes.fromhex(h)
            if s.send(frame) != len(frame):
                raise SystemExit("short write")
        return 0
    sys.stderr.write("usage: _h_net.py send IFACE GAP_S HEX...\n")
    return 64


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
