# SPDX-License-Identifier: MIT
"""lwIP pings the host (a deferred control command): replies counted, the
connection waits for the answer, a second run at once is refused."""
from scapy.layers.inet import ICMP

from lwipd import testing as harness
from lwipd.capture import TX


def test_lwip_pings_host(lwipd):
    resp = lwipd.request({"cmd": "ping", "host": harness.HOST_IP, "count": 5,
                          "interval_ms": 20, "id": "p1"}, timeout=30)
    assert resp["ok"] is True and resp["id"] == "p1", resp
    assert resp["transmitted"] == 5 and resp["received"] == 5
    assert 0 < resp["rtt_ms"]["min"] <= resp["rtt_ms"]["avg"] <= resp["rtt_ms"]["max"] < 1000

    def requests():  # ICMP echo requests lwIP put on the wire
        return [p for p in lwipd.capture().having(ICMP, TX) if p[ICMP].type == 8]

    harness.wait_for(lambda: len(requests()) == 5, 5, "5 echo requests in the capture")


def test_unreachable_host_times_out_cleanly(lwipd):
    # 198.18.0.77 is on the link but nobody answers ARP for it.
    resp = lwipd.request({"cmd": "ping", "host": "198.18.0.77", "count": 2,
                          "interval_ms": 10, "timeout_ms": 300}, timeout=30)
    assert resp["ok"] is True and resp["transmitted"] == 2 and resp["received"] == 0


def test_requests_queue_behind_a_deferred_answer(lwipd):
    with harness.ControlClient(lwipd.control, timeout=30) as c:
        c.send_raw(b'{"cmd":"ping","host":"198.18.0.1","count":3,"interval_ms":50,"id":1}\n'
                   b'{"cmd":"status","id":2}\n')
        first, second = c.read_line(), c.read_line()
        assert first["id"] == 1 and first["received"] == 3
        assert second["id"] == 2 and second["ok"] is True


def test_second_ping_is_busy_and_bad_params(lwipd):
    with harness.ControlClient(lwipd.control, timeout=30) as long_run:
        long_run.send_raw(b'{"cmd":"ping","host":"198.18.0.1","count":10,"interval_ms":100}\n')
        harness.wait_for(lambda: lwipd.stats()["apps"]["ping"]["running"], 5, "the long run")
        busy = lwipd.request({"cmd": "ping", "host": harness.HOST_IP, "count": 1})
        assert busy["ok"] is False and "another ping" in busy["error"]
        assert long_run.read_line()["received"] == 10
    for bad in ({"host": "nope"}, {"host": 5}, {"host": harness.HOST_IP, "count": 0},
                {"host": harness.HOST_IP, "count": 1.5}, {"host": harness.HOST_IP, "count": "3"}):
        r = lwipd.request(dict(cmd="ping", **bad))
        assert r["ok"] is False and r["error"], bad
    r = lwipd.lwipctl("ping", harness.HOST_IP, "3", "10")
    assert r.returncode == 0 and "received: 3" in r.stdout, r.stdout + r.stderr
