# SPDX-License-Identifier: MIT
"""The apps inside lwIP: echo, discard, chargen (TCP and UDP) and lwiperf."""
import hashlib
import json
import random

from scapy.layers.inet import TCP

from lwipd import testing as harness
from lwipd.capture import TX, load

MIB = 1024 * 1024


def expected_sha(n):
    rnd = random.Random(1)
    block = bytes(rnd.getrandbits(8) for _ in range(min(n, 65536)))
    return hashlib.sha256((block * (n // 65536 + 1))[:n]).hexdigest()


def test_tcp_echo_1mib_byte_for_byte(netns, lwipd):
    r = netns.helper("nettools.py", "tcp-echo", lwipd.ip, 7, MIB)
    assert r["errors"] == []
    assert r["received"] == MIB
    assert r["match"] is True
    assert r["sha256"] == expected_sha(MIB)
    echo = lwipd.stats()["apps"]["echo"]
    assert echo["tcp_bytes_in"] == MIB and echo["tcp_bytes_out"] == MIB


def test_udp_echo(netns, lwipd):
    r = netns.helper("nettools.py", "udp-echo", lwipd.ip, 7, 200, 1000)
    assert r["echoed"] == 200
    echo = lwipd.stats()["apps"]["echo"]
    assert echo["udp_datagrams_in"] == 200 and echo["udp_datagrams_out"] == 200


def test_tcp_and_udp_discard(netns, lwipd):
    r = netns.helper("nettools.py", "tcp-send", lwipd.ip, 9, MIB)
    assert r["sent"] == MIB and r["peer_sent"] == 0
    harness.wait_for(lambda: lwipd.stats()["apps"]["discard"]["tcp_bytes_in"] == MIB, 10,
                     "discard to count 1 MiB")
    netns.helper("nettools.py", "udp-send", lwipd.ip, 9, 50, 512)
    harness.wait_for(lambda: lwipd.stats()["apps"]["discard"]["udp_datagrams_in"] == 50, 10,
                     "50 datagrams discarded")
    assert lwipd.stats()["apps"]["discard"]["udp_datagrams_out"] == 0


def test_tcp_and_udp_chargen(netns, lwipd):
    r = netns.helper("nettools.py", "tcp-recv", lwipd.ip, 19, 256 * 1024)
    assert r["received"] == 256 * 1024
    assert r["pattern_ok"] is True
    r = netns.helper("nettools.py", "udp-chargen", lwipd.ip, 19, 20)
    assert r["replies"] == 20 and r["pattern_ok"] == 20
    cg = lwipd.stats()["apps"]["chargen"]
    assert cg["tcp_accepted"] == 1 and cg["udp_datagrams_out"] == 20


def test_iperf2_against_lwiperf(netns, lwipd):
    r = netns.run(["iperf", "-c", lwipd.ip, "-t", "2", "-y", "C"], timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [line.split(",") for line in r.stdout.strip().splitlines() if line.count(",") >= 8]
    assert rows, r.stdout
    sent = int(rows[-1][7])
    assert sent > 0
    lw = harness.wait_for(lambda: (lambda s: s if s["sessions"] >= 1 else None)(
        lwipd.stats()["apps"]["lwiperf"]), 10, "lwiperf's report")
    assert lw["total_bytes"] > 0
    # lwiperf counts what it received; iperf2 what it sent. They agree within
    # what was in flight when the client stopped.
    assert abs(lw["last_bytes"] - sent) <= max(sent * 0.05, 512 * 1024), (lw, sent)


def test_echo_aborts_connections_whose_peer_vanished(netns, lwipd_factory):
    """Peers that disappear without a FIN or RST (TCP_REPAIR, then close:
    as when the peer's RST is lost) leave lwIP's echo connections
    ESTABLISHED. The echo's idle timeout (--echo-idle-s) aborts them, not
    before it (the capture: each connection's RST comes at least two 1 s
    polls after its last frame), a RST each; their pcbs and heap come back
    (the teardown checks the leak baseline)."""
    d = lwipd_factory("--echo-idle-s", "3")
    churn = harness.CHURN
    r = netns.run([churn, "-c", "5", "-n", "5", "-p", "vanish", "-s", "100", d.ip, "7"],
                  timeout=60, check=False)
    res = json.loads(r.stdout)
    assert r.returncode == 0 and res["ok"] == 5, res
    echo = harness.wait_for(lambda: (lambda e: e if e["tcp_active"] == 0 else None)(
        d.stats()["apps"]["echo"]), 15, "the idle connections aborted")
    assert echo["tcp_accepted"] == 5 and echo["tcp_idle_closed"] == 5, echo
    assert echo["errors"] == 0, echo
    d.request({"cmd": "capture", "op": "stop"})  # flushed: every frame is in the file
    last, rst = {}, {}  # host port: stamp of the connection's last frame before the RST, RST's
    for p in load(d.pcap, d.mac).having(TCP):
        tcp, mine = p[TCP], p.direction == TX
        port, echo = (tcp.dport, tcp.sport) if mine else (tcp.sport, tcp.dport)
        if echo != 7:
            continue
        if mine and "R" in tcp.flags:
            rst[port] = p.ts
        elif port not in rst:
            last[port] = p.ts
    assert len(rst) == 5, (rst, last)
    for port, ts in rst.items():
        assert ts - last[port] >= 2.0, (port, last[port], ts)
