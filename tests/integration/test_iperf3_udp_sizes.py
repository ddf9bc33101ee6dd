# SPDX-License-Identifier: MIT
"""iperf3 UDP datagrams up to iperf3's 65507-byte limit, both ways, against
the default profile (IP fragmentation sized for them), and a build whose
limits cannot carry a length: the server refuses it with iperf3's error
(IEUDPBLOCKSIZE) and names the lwIP option in its log, instead of counting
a test in which nothing arrived. Stock iperf3 3.12 clients, -J figures."""
import json
import os

import pytest

from lwipd import testing as harness

SMALL = os.path.join(harness.TOP, "port", "opts", "small")


def iperf3_json(ns, host, *args, timeout=30):
    harness.check_safe(host)
    r = ns.run(["timeout", str(timeout), "iperf3", "-c", host, "-J"] + [str(a) for a in args],
               timeout=timeout + 30, check=False)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        raise AssertionError("iperf3 %s: no JSON (exit %d): %s %s" % (
            " ".join(map(str, args)), r.returncode, r.stdout[-500:], r.stderr[-500:]))


def counters(lwipd):
    s = lwipd.stats()
    return s["apps"]["iperf3"], s["lwip"]


def wait_idle(lwipd):
    return harness.wait_for(lambda: (lambda a: a if a["state"] == "idle" else None)(
        lwipd.stats()["apps"]["iperf3"]), 10, "the iperf3 server to be idle")


@pytest.mark.lwipd(pcap=False)
@pytest.mark.parametrize("reverse", [False, True], ids=["host-to-lwip", "lwip-to-host"])
def test_udp_datagram_sizes_both_ways(netns, lwipd, reverse):
    for length in (8000, 16000, 32000, 63000):
        app0, lwip0 = counters(lwipd)
        # -R: a receive buffer of 4 MB, so a host client kept off the CPU
        # for a while (a busy machine) does not lose datagrams at its socket
        rc, j = iperf3_json(netns, lwipd.ip, "-u", "-l", length, "-b", "20M", "-t", 1,
                            *(["-R", "-w", "4M"] if reverse else []))
        assert rc == 0 and "error" not in j, (length, j.get("error"))
        e = j["end"]
        assert j["start"]["test_start"]["blksize"] == length
        sent, rcvd = e["sum_sent"], e["sum_received"]
        # The sender sent whole datagrams. Of those up to the last one the
        # receiver saw (its "packets"; a sender may go on until it reads
        # TEST_END), it got every one whole but those it counted lost (one
        # more may be counted by number but not by bytes at the end), and
        # lost next to none.
        assert sent["bytes"] == sent["packets"] * length > 0, (length, sent)
        assert rcvd["bytes"] % length == 0 and rcvd["packets"] <= sent["packets"], (length, e)
        got = rcvd["bytes"] // length
        assert rcvd["packets"] - rcvd["lost_packets"] - 1 <= got, (length, rcvd)
        assert got <= rcvd["packets"] - rcvd["lost_packets"], (length, rcvd)
        assert rcvd["packets"] >= sent["packets"] * 0.9, (length, sent, rcvd)
        assert rcvd["lost_packets"] <= 0.02 * rcvd["packets"], (length, rcvd)
        # lwIP's side: what it counted, and no fragment or datagram it
        # could not hold (reassembly drops, fragment references).
        app1 = wait_idle(lwipd)
        lwip1 = counters(lwipd)[1]
        if reverse:
            assert app1["bytes_sent"] - app0["bytes_sent"] == sent["bytes"], length
            assert lwip1["mib2"]["ipfragoks"] - lwip0["mib2"]["ipfragoks"] == sent["packets"]
            assert lwip1["mib2"]["ipfragfails"] == lwip0["mib2"]["ipfragfails"], length
        else:
            assert app1["bytes_received"] - app0["bytes_received"] == rcvd["bytes"], length
            assert lwip1["ip_frag"]["drop"] == lwip0["ip_frag"]["drop"], length
        assert app1["tests_completed"] == app0["tests_completed"] + 1
        assert app1["errors"] == app0["errors"], app1


def test_small_build_refuses_what_it_cannot_carry(netns, lwipd_factory):
    """port/opts/small: lwIP's IP_REASS_MAX_PBUFS 10 over 592-byte pool
    pbufs holds 3 fragments (4432 bytes), MEMP_NUM_FRAG_PBUF 15 sends 14
    (20712 bytes)."""
    d = lwipd_factory(binary=harness.lwipopts_build(SMALL), pcap=False)
    for args, option in ((["-l", 8000], "IP_REASS_MAX_PBUFS"),
                         (["-l", 32000, "-R"], "MEMP_NUM_FRAG_PBUF")):
        rc, j = iperf3_json(netns, d.ip, "-u", "-b", "1M", "-t", 1, *args)
        # iperf3's text for IEUDPBLOCKSIZE; lwipd's log says why
        assert "block size" in j.get("error", ""), j.get("error")
        st = wait_idle(d)
        assert st["tests_completed"] == 0 and st["errors"] >= 1, st
        assert harness.wait_for(lambda: option in d.read_log(), 5, "the refusal in the log")
    # and a datagram the small build carries both ways still goes through
    for extra in ([], ["-R"]):
        rc, j = iperf3_json(netns, d.ip, "-u", "-l", 1400, "-b", "1M", "-n", "100K", *extra)
        assert "error" not in j, j["error"]
        assert j["end"]["sum_received"]["bytes"] > 0, j["end"]
    assert wait_idle(d)["tests_completed"] == 2
