# SPDX-License-Identifier: MIT
"""Allocation-failure rules ("alloc fail ..."): lwIP's pool and heap
allocations made to fail through the linker's wrappers, seen in lwIP's own
memp/mem err counters, the rules' counts, lwipd's per-pool counts, the
events and what the host gets (no SYN-ACK, lost pings, an intact echo)."""
import os

from scapy.layers.inet import TCP

from lwipd import testing as harness
from lwipd.capture import load

MIB = 1024 * 1024


events = harness.read_events


def tcp_frames(d, sport=None, dport=None, flags=0):
    """TCP frames in D's capture from SPORT / to DPORT (None: any) with at
    least the FLAGS bits set."""
    return [p.data for p in load(d.pcap).having(TCP)
            if sport in (None, p[TCP].sport) and dport in (None, p[TCP].dport) and
            int(p[TCP].flags) & flags == flags]


def syn_acks_from(d, port):
    return tcp_frames(d, sport=port, flags=0x12)


def host_syns_to(d, port):
    """Wait for the host's SYN to PORT and its retransmission in D's capture
    (so that the capture is written past any answer to the first); return
    them."""
    return harness.wait_for(lambda: (lambda s: s if len(s) >= 2 else None)(
        tcp_frames(d, dport=port, flags=0x02)), 5, "two host SYNs in the capture")


CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("yes")
except OSError:
    print("no")
"""


def connects(ns, ip, port, timeout):
    """True if a TCP connect from the host (in NS) to IP:PORT completes
    within TIMEOUT s."""
    harness.check_safe(ip)
    r = ns.run([harness.PYTHON, "-c", CONNECT, ip, str(port), str(timeout)], timeout=timeout + 30)
    return r.stdout.strip() == "yes"


def rule(d, rid):
    return [r for r in d.request({"cmd": "fault", "op": "list"})["rules"] if r["id"] == rid][0]


def test_tcp_pcb_pool_dry_then_cleared(netns, workdir, lwipd_factory):
    """Every TCP_PCB allocation fails: a SYN to the echo gets no SYN-ACK (and
    no RST: lwIP drops a SYN it has no pcb for), lwIP's memp TCP_PCB err
    counter rises with the rule's count; cleared, the echo answers again."""
    ev = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--fault", "alloc fail 100% pool=TCP_PCB", "--events", ev)
    before = d.stats()["lwip"]["memp"]["TCP_PCB"]["err"]
    assert not connects(netns, d.ip, 7, 2)
    host_syns_to(d, 7)
    assert syn_acks_from(d, 7) == [] and tcp_frames(d, sport=7, flags=0x04) == []  # no RST
    r = d.request({"cmd": "fault", "op": "list"})["rules"][0]
    assert r["rule"] == "alloc fail 100% pool=TCP_PCB"
    assert r["acted"] >= 1 and r["acted"] == r["matched"]
    st = d.stats()
    assert st["lwip"]["memp"]["TCP_PCB"]["err"] - before == r["acted"]
    assert st["fault"]["alloc"]["injected"]["TCP_PCB"] == r["acted"]
    assert st["fault"]["alloc"]["total"] == r["acted"]
    fails = [e for e in events(ev, "fault") if e.get("dir") == "alloc"]
    # one event at the 1st, 2nd, 4th, ... failure: never a flood
    assert [e["n"] for e in fails] == [1 << k for k in range(len(fails))]
    assert fails and fails[-1]["n"] <= r["acted"] < 2 * fails[-1]["n"]
    assert all(e["pool"] == "TCP_PCB" and e["rule"] == r["id"] for e in fails)
    assert d.request({"cmd": "fault", "op": "clear"})["ok"] is True
    res = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 4096)
    assert res["errors"] == [] and res["match"] is True
    harness.wait_for(lambda: syn_acks_from(d, 7), 5, "a SYN-ACK from the echo in the capture")


def test_filter_picks_the_frame_being_processed(netns, lwipd_factory):
    """A filtered rule fails only the allocations made while lwIP's input
    processes a matching frame: SYNs to the echo (port 7) find no pcb, those
    to discard (port 9) do."""
    d = lwipd_factory()
    rid = d.request({"cmd": "fault", "op": "add",
                     "rule": 'alloc fail 100% pool=TCP_PCB "tcp dst port 7"'})["rule_id"]
    assert connects(netns, d.ip, 9, 5)
    assert not connects(netns, d.ip, 7, 2)
    assert connects(netns, d.ip, 9, 5)
    r = rule(d, rid)
    assert r["acted"] >= 1 and r["matched"] == r["acted"]
    harness.wait_for(lambda: syn_acks_from(d, 9), 5, "SYN-ACKs from discard in the capture")
    host_syns_to(d, 7)
    assert syn_acks_from(d, 7) == []
    assert d.request({"cmd": "fault", "op": "del", "rule_id": rid})["ok"] is True
    assert connects(netns, d.ip, 7, 5)


def test_every_third_pool_buffer_under_ping(netns, lwipd_factory):
    """Every 3rd PBUF_POOL allocation fails (the driver's RX buffers among
    them): some pings are lost, each failure counted by the rule, by lwIP's
    memp PBUF_POOL err and by lwipd's per-pool count."""
    d = lwipd_factory()
    before = d.stats()["lwip"]["memp"]["PBUF_POOL"]["err"]
    rid = d.request({"cmd": "fault", "op": "add",
                     "rule": "alloc fail every 3 pool=PBUF_POOL"})["rule_id"]
    res = harness.ping(netns, d.ip, count=30, interval=0.05)
    r = rule(d, rid)
    d.request({"cmd": "fault", "op": "del", "rule_id": rid})
    assert res["transmitted"] == 30 and 0 < res["received"] < 30
    assert r["acted"] == r["matched"] // 3 and r["acted"] >= 30 - res["received"]
    st = d.stats()
    assert st["lwip"]["memp"]["PBUF_POOL"]["err"] - before == r["acted"]
    assert st["fault"]["alloc"]["injected"]["PBUF_POOL"] == r["acted"]
    assert st["driver"]["rx_nomem"] >= 1
    assert harness.ping(netns, d.ip, count=5)["received"] == 5


def test_heap_failures_under_tcp_echo(netns, lwipd_factory):
    """1 % of heap allocations fail (PBUF_RAM segments, ACKs) while 256 KiB go
    through the echo and back: lwIP retries, the data arrive intact, lwIP's
    mem err counts every failure, and nothing leaks (teardown's check)."""
    d = lwipd_factory("--seed", "7")
    before = d.stats()["lwip"]["mem"]["err"]
    rid = d.request({"cmd": "fault", "op": "add", "rule": "alloc fail 1% heap"})["rule_id"]
    res = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 256 * 1024)
    r = rule(d, rid)
    d.request({"cmd": "fault", "op": "clear"})
    assert res["errors"] == [] and res["match"] is True
    assert r["acted"] >= 1 and r["matched"] > 50 * r["acted"] // 2
    st = d.stats()
    assert st["lwip"]["mem"]["err"] - before == r["acted"]
    assert st["fault"]["alloc"]["injected"]["heap"] == r["acted"]
    clean, report = d.wait_leaks_clean(timeout=20)
    assert clean, report


def test_bad_alloc_rules_refused(lwipd):
    for text, why in [("alloc fail 5% pool=NO_SUCH_POOL", "no pool 'NO_SUCH_POOL'"),
                      ("alloc fail 5%", "pool=NAME or heap"),
                      ("alloc drop 5% heap", "unknown alloc action"),
                      ("alloc fail 5 heap", "needs its % sign"),
                      ("alloc fail every 0 heap", "count of at least 1")]:
        resp = lwipd.request({"cmd": "fault", "op": "add", "rule": text})
        assert resp["ok"] is False and why in resp["error"], (text, resp)


def test_isr_free_callback_failures(netns, lwipd_factory):
    """An unfiltered rule acts in the TX-complete ISR too: with --txc-free
    callback the ISR's pbuf_free_callback() needs a TCPIP_MSG_API message;
    half of them fail under a ping flood. The driver counts each failed
    free and frees the pbuf later: every ping answered, nothing leaks."""
    d = lwipd_factory("--txc-free", "callback", "--seed", "3")
    base = d.stats()["driver"]["free_callback_fail"]
    rid = d.request({"cmd": "fault", "op": "add",
                     "rule": "alloc fail 50% pool=TCPIP_MSG_API"})["rule_id"]
    res = harness.ping(netns, d.ip, count=500, interval=0.002)
    r = rule(d, rid)
    d.request({"cmd": "fault", "op": "clear"})
    assert res["received"] == 500
    st = d.stats()
    assert r["acted"] >= 1 and st["fault"]["alloc"]["injected"]["TCPIP_MSG_API"] == r["acted"]
    assert st["driver"]["free_callback"] >= 1  # the ISR did free through messages
    assert st["driver"]["free_callback_fail"] - base >= 1
    clean, report = d.wait_leaks_clean(timeout=20)
    assert clean, report
