# SPDX-License-Identifier: MIT
"""The lwIP-side iperf3 client's per-interval results (`lwipctl iperf3 -i`):
the "intervals" of its -J-shaped answer, the progress lines that stream
them, and lwipctl's iperf3-format lines printed as they come. Against a
stock `iperf3 -s -1` on the host side of the TAP, as test_iperf3.py does;
the shapes and units were checked against real iperf3 3.12 -J and text
output."""
import json
import os
import re
import select
import subprocess
import time

import pytest

from lwipd import testing as harness


LINE = re.compile(r"^\[\s*(\d+|SUM)\](?:\[[TR]X-C\])?\s+(\d+\.\d\d)-(\d+\.\d\d)\s+sec\s+([\d.]+) "
                  r"(Bytes|KBytes|MBytes|GBytes)\s+([\d.]+) (bits|Kbits|Mbits|Gbits)/sec(.*)$")
BYTE_UNITS = {"Bytes": 1, "KBytes": 1024, "MBytes": 1024 ** 2, "GBytes": 1024 ** 3}
BIT_UNITS = {"bits": 1, "Kbits": 1e3, "Mbits": 1e6, "Gbits": 1e9}


def app(lwipd):
    return lwipd.stats()["apps"]["iperf3"]


def lwipctl_json(lwipd, *args):
    r = lwipd.lwipctl("--json", "iperf3", "--client", harness.HOST_IP,
                      *[str(a) for a in args], timeout=90)
    resp = json.loads(r.stdout)
    assert r.returncode == 0 and resp["ok"] is True, (r.returncode, resp, r.stderr)
    return resp


def check_interval_shape(iv, udp, sender):
    """One element of "intervals" as iperf3 -J has it."""
    for o in iv["streams"] + [iv["sum"]]:
        for k in ("start", "end", "seconds", "bytes", "bits_per_second", "omitted", "sender"):
            assert k in o, (k, o)
        assert o["sender"] is sender, o
        assert abs(o["end"] - o["start"] - o["seconds"]) < 1e-6, o
        want_bps = o["bytes"] * 8 / o["seconds"] if o["seconds"] > 0 else 0
        assert abs(o["bits_per_second"] - want_bps) <= 1e-6 * max(want_bps, 1), o
    for s in iv["streams"]:
        assert s["socket"] in (1, 3, 4, 5) and s["start"] == iv["sum"]["start"], s
    assert sum(s["bytes"] for s in iv["streams"]) == iv["sum"]["bytes"], iv
    if udp and sender:
        assert sum(s["packets"] for s in iv["streams"]) == iv["sum"]["packets"], iv
    if udp and not sender:
        for k in ("jitter_ms", "lost_packets", "packets", "lost_percent"):
            assert k in iv["sum"] and all(k in s for s in iv["streams"]), (k, iv)
    if not udp and sender:
        assert all(s["snd_cwnd"] > 0 for s in iv["streams"]), iv  # lwIP's pcb->cwnd
    if not udp and not sender:
        assert all("snd_cwnd" not in s for s in iv["streams"]), iv


@pytest.mark.parametrize("args,udp,sender", [
    ([], False, True),
    (["-R"], False, False),
    (["-u", "-b", "10M"], True, True),
    (["-u", "-b", "10M", "-R"], True, False),
])
def test_intervals_in_json(lwipd, host_server, args, udp, sender):
    srv = host_server()
    resp = lwipctl_json(lwipd, "-t", 3, "-i", 1, *args)
    assert "error" not in srv.result()
    ivs, end = resp["intervals"], resp["end"]
    # iperf3 -t 3 -i 1 gives exactly 3: the test ends on the third tick,
    # and a tail under a tenth of the interval is left out
    assert len(ivs) == 3, [(i["sum"]["start"], i["sum"]["end"]) for i in ivs]
    # -J's order, after the control protocol's own keys
    assert [k for k in resp if k not in ("ok", "api")] == ["start", "intervals", "end"], list(resp)
    assert ivs[0]["sum"]["start"] == 0
    for a, b in zip(ivs, ivs[1:]):
        assert a["sum"]["end"] == b["sum"]["start"], (a["sum"], b["sum"])
    for iv in ivs:
        check_interval_shape(iv, udp, sender)
        assert iv["sum"]["omitted"] is False
        assert 0.5 <= iv["sum"]["seconds"] <= 1.5, iv["sum"]  # iperf3 -i 1's intervals
    # Our own side's counters: the intervals add up to the end sum, short
    # of at most the tail left out.
    local = end["sum_sent"] if sender else end["sum_received"]
    total = sum(iv["sum"]["bytes"] for iv in ivs)
    assert 0 <= local["bytes"] - total <= max(iv["sum"]["bytes"] for iv in ivs), (local, total)
    assert total > 0
    if udp:
        pk = sum(iv["sum"]["packets"] for iv in ivs)
        assert 0 <= local["packets"] - pk <= max(iv["sum"]["packets"] for iv in ivs)


def test_intervals_omit_and_none(lwipd, host_server):
    srv = host_server()
    resp = lwipctl_json(lwipd, "-t", 2, "-O", 1, "-i", 1)
    srv.result()
    ivs = resp["intervals"]
    # iperf3 3.12: the omit period's interval, then the clock starts again at 0
    assert [iv["sum"]["omitted"] for iv in ivs] == [True, False, False], ivs
    assert ivs[1]["sum"]["start"] == 0 and ivs[0]["sum"]["start"] == 0
    total = sum(iv["sum"]["bytes"] for iv in ivs[1:])
    assert 0 <= resp["end"]["sum_sent"]["bytes"] - total <= ivs[-1]["sum"]["bytes"]
    srv = host_server()
    resp = lwipctl_json(lwipd, "-t", 1, "-i", 0)
    srv.result()
    assert resp["intervals"] == []
    for bad in (0.05, 61, "1"):
        r = lwipd.request(dict(cmd="iperf3", host=harness.HOST_IP, interval=bad))
        assert r["ok"] is False and "interval" in r["error"], r


def read_line_until(proc, deadline):
    """The next line of PROC's stdout, waiting until DEADLINE at most."""
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("no output line in time (so far %r)" % buf)
        chunk = os.read(fd, 1)
        if not chunk:
            return buf.decode()
        buf += chunk
    return buf.decode()


def check_units(m):
    """A line's transfer and bitrate agree over its interval: iperf3's units
    (1024 for bytes, 1000 for bits), 3 significant digits."""
    secs = float(m.group(3)) - float(m.group(2))
    nbytes = float(m.group(4)) * BYTE_UNITS[m.group(5)]
    rate = float(m.group(6)) * BIT_UNITS[m.group(7)]
    assert secs > 0 and abs(nbytes * 8 / secs - rate) <= 0.015 * rate, m.group(0)


@pytest.mark.parametrize("args,extra,per_interval,summary_lines", [
    ([], r"^\s+[\d.]+ (Bytes|KBytes|MBytes)$", 1, 2),                  # Cwnd
    # Jitter Lost/Total Datagrams
    (["-u", "-b", "5M", "-R"], r"^\s+[\d.]+ ms\s+\d+/\d+ \([\d.e+-]+%\)$", 1, 2),
    # [TX-C]: streams 1, 3 and their [SUM]; [RX-C]: 4, 5 and theirs (Cwnd for TX streams)
    (["--bidir", "-P", "2"], r"^(\s+[\d.]+ (Bytes|KBytes|MBytes))?$", 6, 12),
])
def test_human_lines_as_they_come(lwipd, host_server, args, extra, per_interval, summary_lines):
    srv = host_server()
    cmd = [harness.LWIPCTL, "-s", lwipd.control, "iperf3", "--client", harness.HOST_IP,
           "-t", "4", "-i", "1"] + args
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        lines = []
        while True:
            line = read_line_until(proc, deadline)
            assert line, "lwipctl ended before an interval line: %r" % lines
            lines.append(line.rstrip("\n"))
            if LINE.match(lines[-1]):
                break
        # the first interval is on screen while the 4 s run goes on
        assert proc.poll() is None, lines
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    srv.result()
    lines += out.decode().splitlines()
    assert lines[0] == "Connecting to host %s, port 5201" % harness.HOST_IP, lines
    header = r"^\[ ID\](\[Role\])? Interval           Transfer     Bitrate"
    assert any(re.match(header, ln) for ln in lines), lines
    parsed = [(ln, LINE.match(ln)) for ln in lines]
    roles = ("sender", "receiver")
    intervals = [m for ln, m in parsed if m and not m.group(8).strip().endswith(roles)]
    summary = [m for ln, m in parsed if m and m.group(8).strip().endswith(roles)]
    assert len(intervals) == 4 * per_interval, lines
    for m in intervals:
        assert re.match(extra, m.group(8)), m.group(0)
        check_units(m)
    roles = [m.group(8).split()[-1] for m in summary]
    assert roles == ["sender", "receiver"] * (summary_lines // 2), lines
    for m in summary:
        check_units(m)
    if "--bidir" in args:
        tags = [re.match(r"^\[[ \dSUM]+\](\[..-C\])", m.group(0)).group(1) for m in intervals]
        assert tags[:per_interval] == ["[TX-C]"] * 3 + ["[RX-C]"] * 3, lines
    assert lines[-1] == "iperf Done.", lines


def test_client_gone_mid_run(lwipd, host_server):
    """The control client hangs up after the first interval: the run goes
    on to its end, lwipd keeps serving, and nothing leaks (teardown)."""
    srv = host_server()
    with harness.ControlClient(lwipd.control, timeout=30) as c:
        c.send_raw(json.dumps({"cmd": "iperf3", "host": harness.HOST_IP, "time": 3,
                               "interval": 0.5, "intervals": True, "id": 7}).encode() + b"\n")
        first = c.read_line()
        assert first["api"] == 1 and first["id"] == 7 and "ok" not in first, first
        iv = first["interval"]
        assert iv["sum"]["start"] == 0 and iv["streams"][0]["sender"] is True, iv
    harness.wait_for(lambda: not app(lwipd)["client_running"], 30, "the client run to end")
    sj = srv.result()
    assert "error" not in sj, sj
    assert sj["end"]["sum_received"]["seconds"] > 2, sj["end"]  # it ran to its end
    st = app(lwipd)
    assert st["client_runs"] == 1 and st["client_errors"] == 0, st
    # and the next run, with a reader, streams every interval then answers
    srv = host_server()
    with harness.ControlClient(lwipd.control, timeout=30) as c:
        c.send_raw(json.dumps({"cmd": "iperf3", "host": harness.HOST_IP, "time": 2,
                               "intervals": True, "id": 8}).encode() + b"\n")
        got = []
        while True:
            line = c.read_line()
            if "ok" in line:
                break
            got.append(line["interval"])
    srv.result()
    assert line["ok"] is True and line["id"] == 8, line
    assert got == line["intervals"] and len(got) == 2, (got, line["intervals"])
