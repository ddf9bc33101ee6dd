# SPDX-License-Identifier: MIT
"""Duplicates follow their originals: with a dup rule the frame goes out
first and its copy right after it, as on a duplicating link (netem's
duplicate). Numbered UDP datagrams to lwIP's echo (port 7) show it: lwIP
echoes each datagram as it receives it, so the replies' order in the
capture is lwIP's receive order (rx), or the replies themselves are the
duplicated frames (tx). A datagram's number is its place among the host's
datagrams in the capture (rx frames are captured as sent, before any
fault)."""
import signal

from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether

from lwipd import testing as harness

ECHO = 7


def port7(pcap):
    """The capture's datagrams to the echo service and its replies, in
    capture order: (ts, "rx" or "tx", payload, frame length)."""
    out = []
    for ts, f in harness.read_pcap(pcap):
        p = Ether(f)
        if UDP in p and ECHO in (p[UDP].dport, p[UDP].sport):
            out.append((ts, "rx" if p[UDP].dport == ECHO else "tx", bytes(p[UDP].payload),
                        len(f)))
    return out


def echo_numbers(pcap, count):
    """The number of each echo reply's datagram, in the order the replies
    went out; the host sent COUNT distinct datagrams."""
    rows = port7(pcap)
    sent = [pl for _, d, pl, _ in rows if d == "rx"]
    assert len(sent) == count and len(set(sent)) == count, sent
    return [sent.index(pl) for _, d, pl, _ in rows if d == "tx"]


def wait_echoed(d, n):
    """Until lwIP's echo has sent N datagrams back (bounded)."""
    harness.wait_for(lambda: d.stats()["apps"]["echo"]["udp_datagrams_out"] >= n,
                     10 * harness.TIME_SCALE, "%d echo replies" % n)


def test_rx_dup_in_a_batch_follows_each_frame(netns, lwipd_factory):
    """Datagrams that reach lwIP in one RX batch, each duplicated: lwIP
    receives 1,1,2,2,3,3..., not every copy ahead of every original. lwipd
    is stopped (SIGSTOP) while the host sends, so that the RX thread finds
    them all queued on the TAP and hands them over in batches."""
    n = 16
    d = lwipd_factory("--watchdog-ms", "0", "--fault", 'rx dup 100%% "udp dst port %d"' % ECHO)
    harness.ping(netns, d.ip, count=2)  # ARP both ways before lwipd stops
    batches = d.stats()["driver"]["rx_batches"]
    d.signal(signal.SIGSTOP)
    try:
        netns.helper("nettools.py", "udp-send", d.ip, ECHO, n, 32)
    finally:
        d.signal(signal.SIGCONT)
    wait_echoed(d, 2 * n)
    assert d.stats()["driver"]["rx_batches"] > batches  # the case under test: batches
    assert d.stop() == 0  # flushes the capture
    assert echo_numbers(d.pcap, n) == [i for i in range(n) for _ in (0, 1)]


def test_rx_dup_held_with_its_frame(netns, lwipd_factory):
    """dup, then delay: each copy waits in the delay line with its frame and
    leaves right behind it (the copy used to go at once, 30 ms ahead of
    its frame)."""
    n = 10
    d = lwipd_factory("--fault", 'rx dup 100%% "udp dst port %d"' % ECHO,
                      "--fault", 'rx delay 30ms "udp dst port %d"' % ECHO)
    netns.helper("nettools.py", "udp-send", d.ip, ECHO, n, 32)
    wait_echoed(d, 2 * n)
    released = d.stats()["fault"]["released"]
    assert d.stop() == 0
    assert echo_numbers(d.pcap, n) == [i for i in range(n) for _ in (0, 1)]
    assert released == 2 * n  # frames and copies alike came out of the delay line


def test_tx_dup_follows_its_frame(netns, lwipd_factory):
    """tx dup, then truncate: each echo reply goes out cut to 60 bytes and
    its copy (made before the cut) whole, right behind it, both with the
    reply's stamp."""
    n = 8
    d = lwipd_factory("--fault", 'tx dup 100%% "udp src port %d"' % ECHO,
                      "--fault", 'tx truncate 100%% 60 "udp src port %d"' % ECHO)
    netns.helper("nettools.py", "udp-send", d.ip, ECHO, n, 64)
    wait_echoed(d, n)
    assert d.stop() == 0
    rows = port7(d.pcap)
    sent = [pl for _, way, pl, _ in rows if way == "rx"]
    replies = [(ts, pl, length) for ts, way, pl, length in rows if way == "tx"]
    assert len(sent) == n and len(replies) == 2 * n, (sent, replies)
    whole = 14 + 20 + 8 + 64
    for i in range(n):
        (ts_a, cut, len_a), (ts_b, full, len_b) = replies[2 * i:2 * i + 2]
        assert (len_a, len_b) == (60, whole), (i, len_a, len_b)
        assert full == sent[i] and sent[i].startswith(cut), (i, cut, full)
        assert ts_a == ts_b, (i, ts_a, ts_b)
