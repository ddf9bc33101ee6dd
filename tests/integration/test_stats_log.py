# SPDX-License-Identifier: MIT
"""Numbers over time: lwipd's --stats-log records, the `events` command and
`lwipctl events --follow`, `lwipctl stats --interval`."""
import json
import os
import select
import signal
import subprocess
import time

from lwipd import testing as harness


def records(path):
    """The --stats-log records in PATH, parsed (a missing file: none; a line
    being written, without its newline yet, is left out)."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


class Reader:
    """Lines of a child's stdout, read with bounded waits."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""
        self.lines = []

    def wait_line(self, pred, timeout, what):
        """The first line (str) not yet returned for which PRED is true."""
        deadline = time.monotonic() + timeout * harness.TIME_SCALE
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append(line.decode())
                if pred(self.lines[-1]):
                    return self.lines[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s: not within %ss; got %r" % (what, timeout, self.lines))
            rd, _, _ = select.select([self.proc.stdout], [], [], left)
            if rd:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError("%s: lwipctl ended; got %r" % (what, self.lines))
                self.buf += chunk

    def rest(self, timeout=10):
        """Wait for the child to end; every line it printed (its standard
        error in self.err)."""
        out, self.err = self.proc.communicate(timeout=timeout * harness.TIME_SCALE)
        self.lines += (self.buf + (out or b"")).decode().splitlines()
        self.buf = b""
        return self.lines


def follow(d, *args):
    p = subprocess.Popen([harness.LWIPCTL, "-s", d.control, "events", "--follow", "--json"] +
                         list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Reader(p)


def is_seed(line):
    return json.loads(line).get("type") == "seed"


def test_stats_log_records_the_traffic(netns, lwipd_factory, workdir):
    path = os.path.join(workdir, "stats.jsonl")
    d = lwipd_factory("--stats-log", path, "--stats-interval", "100")
    harness.wait_for(lambda: len(records(path)) >= 2, 10, "two stats records")
    first = records(path)[0]
    sent = harness.ping(netns, d.ip, count=50, interval=0.02)["transmitted"]
    assert sent == 50
    want = first["stats"]["driver"]["rx_frames"] + sent
    harness.wait_for(lambda: records(path)[-1]["stats"]["driver"]["rx_frames"] >= want, 10,
                     "a record with the pings received")
    keys = sorted(d.stats())
    t_term = time.time_ns()
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    recs = records(path)
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert all(r["api"] == 1 and sorted(r["stats"]) == keys for r in recs)
    assert all(a["ts_ns"] < b["ts_ns"] for a, b in zip(recs, recs[1:]))
    assert recs[-1]["ts_ns"] > t_term  # the final record (written at the stop: next test)
    for k in ("rx_frames", "tx_frames", "rx_bytes", "tx_bytes"):
        v = [r["stats"]["driver"][k] for r in recs]
        assert v == sorted(v), (k, v)
    drv = [r["stats"]["driver"] for r in recs]
    assert drv[-1]["rx_frames"] - drv[0]["rx_frames"] >= sent  # the requests
    assert drv[-1]["tx_frames"] - drv[0]["tx_frames"] >= sent  # the replies
    icmp = [r["stats"]["lwip"]["icmp"]["recv"] for r in recs]
    assert icmp[-1] - icmp[0] >= sent


def test_final_record_and_sighup_reopen(lwipd_factory, workdir):
    """With an hour between records, the only ones are the final records:
    SIGHUP makes lwipd write to a new file of the same name, and the stop
    writes its record there."""
    path = os.path.join(workdir, "stats.jsonl")
    d = lwipd_factory("--stats-log", path, "--stats-interval", "3600000")
    assert os.path.exists(path) and records(path) == []
    os.rename(path, path + ".1")
    d.signal(signal.SIGHUP)
    harness.wait_for(lambda: "SIGHUP" in d.read_log() and os.path.exists(path), 10,
                     "lwipd to reopen its stats log")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert records(path + ".1") == []
    recs = records(path)
    assert len(recs) == 1 and recs[0]["seq"] == 1, recs
    assert recs[0]["stats"]["driver"]["link_up"] is True


def test_stats_log_that_cannot_be_opened_is_refused(netns, workdir):
    d = harness.Lwipd(netns, workdir)
    bad = os.path.join(workdir, "no-such-dir", "stats.jsonl")
    r = netns.run([harness.LWIPD] + d.args + ["--stats-log", bad], check=False, timeout=20)
    assert r.returncode == 73, (r.returncode, r.stderr)  # EX_CANTCREAT, as --events
    assert "--stats-log %s: No such file or directory" % bad in r.stderr, r.stderr
    r = netns.run([harness.LWIPD] + d.args + ["--stats-interval", "5"], check=False)
    assert r.returncode == 64 and "--stats-interval" in r.stderr, r.stderr


def test_events_command_and_follow(lwipd):
    d = lwipd
    resp = d.request({"cmd": "events"})
    assert resp["ok"] and resp["events"][0]["type"] == "seed", resp
    assert resp["last_seq"] == resp["events"][-1]["seq"]
    bad = d.request({"cmd": "events", "since": 1})
    assert not bad["ok"] and "follow" in bad["error"], bad

    # A follower sees the events caused after it started, and --count ends it.
    f = follow(d, "--count", "2")
    backlog = f.wait_line(is_seed, 10, "the backlog")
    assert json.loads(backlog)["seq"] == 1
    for state in ("down", "up"):
        assert d.lwipctl("link", state).returncode == 0
    lines = f.rest()
    assert f.proc.returncode == 0, f.err
    evs = [json.loads(x) for x in lines]
    assert [(e["type"], e.get("state")) for e in evs[-2:]] == [("link", "down"), ("link", "up")]
    assert [e["seq"] for e in evs] == sorted({e["seq"] for e in evs})  # none twice

    # Over the protocol: "since" replays from there, then the new ones.
    last = d.request({"cmd": "events"})["last_seq"]
    with harness.ControlClient(d.control) as c:
        c.send_raw(json.dumps({"cmd": "events", "follow": True, "since": last - 2,
                               "count": 3, "id": 7}).encode() + b"\n")
        got = [c.read_line() for _ in range(2)]
        assert d.lwipctl("capture", "mark", "after-follow").returncode == 0
        got += [c.read_line(), c.read_line()]
    assert [g["event"]["seq"] for g in got[:3]] == [last - 1, last, last + 1], got
    assert got[2]["event"]["type"] == "mark" and got[2]["id"] == 7
    assert got[3]["ok"] and got[3]["end"] == "count" and got[3]["sent"] == 3, got[3]

    # Followers that go away: Ctrl-C, and a reader that closes the pipe.
    f1, f2 = follow(d), follow(d)
    for f in (f1, f2):
        f.wait_line(is_seed, 10, "the backlog")
    f1.proc.send_signal(signal.SIGINT)
    f2.proc.stdout.close()
    assert d.lwipctl("link", "down").returncode == 0  # something for f2 to write
    assert d.lwipctl("link", "up").returncode == 0
    assert f1.proc.wait(timeout=10) == 0
    assert f2.proc.wait(timeout=10) == 0
    f1.rest()
    f2.rest()
    harness.wait_for(lambda: d.request({"cmd": "status"})["control_clients"] == 1, 10,
                     "the followers' connections to close")
    assert d.request({"cmd": "status"})["ok"]


def test_follower_does_not_hold_the_stop(lwipd_factory):
    d = lwipd_factory()
    f = follow(d)
    f.wait_line(is_seed, 10, "the backlog")
    # an event it prints: its follow request is in force
    assert d.lwipctl("capture", "mark", "following").returncode == 0
    f.wait_line(lambda x: json.loads(x).get("text") == "following", 10, "the mark")
    assert d.stop() == 0
    f.rest()
    assert f.proc.returncode == 0, f.err
    assert "left unsent" not in d.read_log()


def test_human_events(lwipd):
    assert lwipd.lwipctl("link", "down").returncode == 0
    r = lwipctl_ok(lwipd, "events", "--count", "2")
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and " link state=down" in lines[-1], lines
    assert lwipd.lwipctl("link", "up").returncode == 0


def lwipctl_ok(d, *args):
    r = d.lwipctl(*args)
    assert r.returncode == 0, (args, r.stderr)
    return r


def test_stats_interval_rates(netns, lwipd):
    d = lwipd
    flood = harness.ping_flood(netns, d.ip, count=2000, interval="0.005")
    try:
        # global options anywhere on the line, as git's and ip's
        r = harness.run([harness.LWIPCTL, "stats", "--interval", "0.2", "--json", "-s",
                         d.control, "--count", "3"], check=False)
        assert r.returncode == 0, r.stderr
        rows = [json.loads(x) for x in r.stdout.splitlines()]
        h = lwipctl_ok(d, "stats", "--interval", "0.2", "--count", "3")
    finally:
        harness.interrupt(flood)
    assert len(rows) == 3, r.stdout
    for row in rows:
        assert isinstance(row["ts_ns"], int) and row["interval_s"] > 0, row
        assert all(v != 0 for v in row["rates"].values()), row
    assert all(a["ts_ns"] < b["ts_ns"] for a, b in zip(rows, rows[1:]))
    assert any(row["rates"].get("driver.rx_frames", 0) > 0 for row in rows), rows
    lines = h.stdout.splitlines()
    assert len(lines) == 4, h.stdout
    assert lines[0].split()[:2] == ["rxfr/s", "txfr/s"] and "pools" in lines[0], lines[0]
    assert all(len(x.split()) == len(lines[0].split()) for x in lines[1:]), lines
    assert any(x.split()[0] != "0" for x in lines[1:]), lines  # frames received meanwhile
    bad = d.lwipctl("stats", "--count", "3")
    assert bad.returncode == 64 and "--interval" in bad.stderr, bad.stderr
