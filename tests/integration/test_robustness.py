# SPDX-License-Identifier: MIT
"""Bad input from both sides: malformed frames on the TAP, garbage on the
control socket."""
import json
import os

import harness


def tap_tx_dropped(netns):
    """Frames the kernel dropped on their way into the TAP: its queue was
    full (lwipd reading slower than the injector writes, e.g. under
    valgrind). lwipd never sees those."""
    r = netns.run(["cat", "/sys/class/net/%s/statistics/tx_dropped" % netns.tap])
    return int(r.stdout)


def test_10000_malformed_frames(netns, lwipd):
    before = lwipd.stats()["driver"]["rx_frames"]
    dropped_before = tap_tx_dropped(netns)
    r = netns.helper("nettools.py", "inject", netns.tap, lwipd.mac, harness.HOST_IP, lwipd.ip,
                     10000, 12345, timeout=300)
    assert r["sent"] == 10000 and r["kinds"].get("send-failed", 0) == 0, r
    assert lwipd.alive()
    # Every frame that entered the TAP is read; the ones the kernel dropped at
    # a full queue are counted by the TAP (and stay a small share).
    harness.wait_for(lambda: lwipd.stats()["driver"]["rx_frames"] - before
                     + tap_tx_dropped(netns) - dropped_before >= 10000, 30,
                     "lwipd to read all 10000 frames that entered the TAP")
    assert tap_tx_dropped(netns) - dropped_before < 1000
    p = harness.ping(netns, lwipd.ip, count=20)
    assert p["received"] == 20, p["output"]
    s = lwipd.stats()["lwip"]
    # lwIP saw and rejected them: length, protocol and checksum errors counted.
    assert s["ip"]["lenerr"] + s["ip"]["chkerr"] + s["ip"]["drop"] + s["ip"]["proterr"] > 100
    assert lwipd.alive()


def test_control_garbage_gets_errors_and_connection_stays(lwipd):
    bad = [b"\x00\xff\xfe garbage \x01", b"{not json", b"[1,2,3]", b"42", b'"cmd"',
           b'{"cmd": 7}', b'{"nocmd": true}', b'{"cmd": ""}', b'{"cmd": "no-such-command"}',
           b'{"cmd": "link", "state": 1}']
    with harness.ControlClient(lwipd.control) as c:
        for b in bad:
            c.send_raw(b + b"\n")
            resp = c.read_line()
            assert resp["ok"] is False, (b, resp)
            assert isinstance(resp["error"], str) and resp["error"], resp
            # Same connection still serves real requests.
            assert c.request({"cmd": "status"})["ok"] is True
        c.send_raw(b'{"cmd":"status"}\r\n')  # CRLF clients too
        assert c.read_line()["ok"] is True
    unknown = lwipd.request({"cmd": "frobnicate"})
    assert "unknown command" in unknown["error"]
    assert lwipd.alive()


def test_control_oversize_line_refused(lwipd):
    with harness.ControlClient(lwipd.control) as c:
        try:
            c.send_raw(b'{"cmd":"' + b"a" * 200000)
        except OSError:
            pass  # the daemon may close while we are still sending
        resp = c.read_line()
        assert resp["ok"] is False and "too long" in resp["error"]
        try:
            c.read_line()
            assert False, "connection should be closed"
        except (EOFError, OSError):
            pass
    assert lwipd.request({"cmd": "status"})["ok"] is True


CONTROL_MAX_CLIENTS = 128  # lwipctl(1): "more than 128 clients at once are refused"


def test_control_too_many_clients(lwipd):
    clients = []
    try:
        # The test's own connection (the fixture's) counts too.
        for _ in range(CONTROL_MAX_CLIENTS + 2):
            clients.append(harness.ControlClient(lwipd.control, timeout=5))
        # The last ones were refused with an error; the first ones still work.
        refused = clients[-1].read_line()
        assert refused["ok"] is False and "too many" in refused["error"]
        assert clients[0].request({"cmd": "status"})["ok"] is True
    finally:
        for c in clients:
            c.close()
    harness.wait_for(lambda: lwipd.request({"cmd": "status"})["control_clients"] == 1, 5,
                     "refused clients to be dropped")


def test_lwipctl_exit_codes(lwipd, workdir):
    assert lwipd.lwipctl("raw", '{"cmd":"frobnicate"}').returncode == 1
    assert lwipd.lwipctl("raw", "not json").returncode == 64
    assert lwipd.lwipctl("no-such").returncode == 1
    r = harness.run([harness.LWIPCTL, "-s", os.path.join(workdir, "nobody.sock"), "status"],
                    check=False)
    assert r.returncode == 69 and "is lwipd running" in r.stderr
    r = lwipd.lwipctl("--json", "help")
    assert r.returncode == 0 and "stats" in json.loads(r.stdout)["commands"]
