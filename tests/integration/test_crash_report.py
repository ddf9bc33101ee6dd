# SPDX-License-Identifier: MIT
"""The crash report's delivery: where its path is announced (the log file,
`lwipctl status` under --fatal-action hold) and the capture flushed beside
it. Each test provokes scenario 1 of test_isr.py (lwIP heap, --txc-free isr:
the TX-complete ISR re-enters mem_mutex) and asserts on the files lwipd
leaves and on what it answers."""
import glob
import json
import os

import pytest

import harness

DETECT_WITHIN = 10.0  # issue 3, scenario 1

# The race needs truly parallel threads (see test_isr.py).
pytestmark = pytest.mark.skipif(
    harness.VALGRIND, reason="valgrind serialises threads: the ISR-in-heap race is unreachable")


def report_files(workdir):
    return glob.glob(os.path.join(workdir, "lwipd-crash-*.json"))


def detected(storm):
    """Wait for lwipd to stop on a report (exit 3); return the report's path."""
    code, _ = storm.wait_exit(DETECT_WITHIN)
    storm.d.expect_failure = True
    assert code == 3, "no detection within %ss (exit %s); log:\n%s" % (
        DETECT_WITHIN, code, storm.d.read_log()[-2000:])
    files = report_files(storm.d.workdir)
    assert len(files) == 1, files
    return files[0]


def test_log_file_names_the_report(netns, workdir):
    """With --log-file the log goes to its own file, not stderr: the report's
    path and the headline must be written there too (from the fatal path)."""
    log_file = os.path.join(workdir, "lwipd-file.log")
    with harness.Storm(netns, workdir, harness.LWIPD,
                       ["--txc-free", "isr", "--log-file", log_file], DETECT_WITHIN) as s:
        path = detected(s)
    with open(log_file) as f:
        lines = f.read().splitlines()
    assert any("[daemon] READY " in line for line in lines), lines[:5]  # the log is there
    mine = [line for line in lines if "[fatal]" in line]
    # Two lines in the format of every other line: the headline, the path.
    assert len(mine) == 2, mine
    headline, named = mine
    assert " crit  [fatal] FATAL irq-violation: " in headline, headline
    assert named.endswith(" crit  [fatal] report: " + path), (named, path)
    assert named.split()[1] == "lwipd[%d]" % s.d.pid
    assert named[:4].isdigit() and named[23] == "Z", named  # 2025-01-02T03:04:05.678Z
    with open(path) as f:
        rep = json.load(f)
    assert rep["kind"] == "irq-violation" and rep["pid"] == s.d.pid
    # stderr still gets its own line.
    assert "lwipd: report: " + path in s.d.read_log()


def test_status_names_the_report_under_hold(netns, workdir):
    """--fatal-action hold: lwIP stays frozen, the control socket answers, and
    `lwipctl status` names the report file that is on disk, complete."""
    with harness.Storm(netns, workdir, harness.LWIPD,
                       ["--txc-free", "isr", "--fatal-action", "hold"], DETECT_WITHIN) as s:
        s.d.expect_failure = True

        # Once lwIP is frozen the main loop answers slowly: each --link-flap
        # edge waits 2 s for the frozen tcpip thread (stack_set_link).
        def faulted():
            r = s.d.lwipctl("--json", "status", timeout=30)
            assert r.returncode == 0, (r.returncode, r.stderr)
            st = json.loads(r.stdout)
            return st if st["crash_report"] else None

        st = harness.wait_for(faulted, DETECT_WITHIN, "a crash report in lwipctl status",
                              interval=0.1)
        assert s.d.alive()  # held, not exited
        assert st["state"] == "faulted" and st["pid"] == s.d.pid
        files = report_files(workdir)
        assert files == [st["crash_report"]], (files, st["crash_report"])
        with open(files[0]) as f:
            rep = json.load(f)  # complete: written before its path is published
        assert rep["kind"] == "irq-violation" and rep["pid"] == s.d.pid
        assert rep["config"]["fatal_action"] == "hold"
        # The control thread keeps running; every lwIP thread is frozen.
        frozen = {t["thread"] for t in rep["threads"]}
        assert "main" not in frozen
        assert frozen | {rep["isr_stack"]["thread"]} >= {"tap-rx", "tap-dma", "tcpip"}, frozen
        s.stop_traffic()
        code = s.d.stop()  # SIGTERM to its PID: the main loop ends, frozen threads and all
    assert code == 3, s.d.read_log()[-2000:]
    assert "stopped after a fault (report %s)" % files[0] in s.d.read_log()


def test_capture_beside_the_report_reaches_the_incident(netns, workdir):
    """The capture is flushed by the reporter after the other threads are
    frozen: the file beside the report is a readable pcap holding every frame
    the writer had taken, the last ones from the moment of the incident."""
    with harness.Storm(netns, workdir, harness.LWIPD, ["--txc-free", "isr"],
                       DETECT_WITHIN) as s:
        path = detected(s)
    with open(path) as f:
        rep = json.load(f)
    flush = rep["capture_flush"]
    assert flush["state"] == "flushed", flush
    assert flush["path"] == rep["capture"] == s.d.pcap
    assert os.path.dirname(rep["capture"]) == os.path.dirname(path)  # beside it
    frames = harness.read_pcap(rep["capture"])
    # Everything the writer took is on disk: not just up to the last
    # periodic flush (every 100 ms), nor a record cut short.
    assert len(frames) == flush["frames"] > 0, (len(frames), flush)
    incident = rep["ts_ns"] / 1e9
    last = frames[-1][0]
    assert abs(last - incident) < 1.0, "last frame %.3f s from the incident" % (last - incident)
