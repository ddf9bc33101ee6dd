# SPDX-License-Identifier: MIT
"""The crash report's delivery: where its path is announced (the log file,
`lwipctl status` under --fatal-action hold) and the capture flushed beside
it. Each test provokes scenario 1 of test_isr.py (lwIP heap, --txc-free isr:
the TX-complete ISR re-enters mem_mutex) and asserts on the files lwipd
leaves and on what it answers."""
import glob
import json
import os
import re

import pytest

from lwipd import testing as harness

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
        # lwipctl report asks the daemon where its reports go.
        assert st["report_dir"] == workdir
        r = s.d.lwipctl("report", timeout=30)
        with open(files[0][:-len(".json")] + ".txt") as f:
            assert r.returncode == 0 and r.stdout == f.read(), (r.returncode, r.stderr)
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


def located_frames(stack):
    """The frames of STACK that name a source file and line."""
    return [f for f in stack["frames"] if f.get("file") and f.get("line", 0) > 0]


def source_exists(name):
    """True if NAME (as a report gives it: "lwip/src/core/mem.c" or
    "netif_tap/tx_ring.c") is a file of lwIP's tree or of ours."""
    if name.startswith("lwip/"):
        lwip = os.path.join(harness.TOP, "subprojects", "lwip")
        return os.path.isfile(os.path.join(lwip, name[len("lwip/"):]))
    return os.path.isfile(os.path.join(harness.TOP, name))


def test_frames_have_file_and_line_and_a_text_form(netns, workdir):
    """Every frame is resolved after the fact to function and file:line
    (libdw), in lwIP's code and in ours; the text form beside the JSON has
    the rule, both stacks with file:line, the lock, the last events and the
    command line that replays the run; `lwipctl report` prints it."""
    with harness.Storm(netns, workdir, harness.LWIPD, ["--txc-free", "isr"],
                       DETECT_WITHIN) as s:
        path = detected(s)
    with open(path) as f:
        rep = json.load(f)
    isr, under = rep["isr_stack"], rep["interrupted_stack"]
    for st in (isr, under):  # the C library's frames may have lines too
        assert [fr for fr in located_frames(st) if source_exists(fr["file"])], st
    # The interrupted code was inside lwIP's heap (mem.c); the ISR in ours.
    assert any(fr["file"] == "lwip/src/core/mem.c" for fr in located_frames(under)), under
    assert any(fr["file"].split("/")[0] in ("mcu", "port", "netif_tap")
               for fr in located_frames(isr)), isr
    assert rep["command_line"]["argv"][0] == harness.LWIPD
    replay = rep["command_line"]["replay"]
    assert replay.startswith(harness.LWIPD + " ") and replay.count("--seed ") == 1, replay
    assert replay.endswith("--seed %s" % rep["seed"]), replay

    txt_path = path[:-len(".json")] + ".txt"
    with open(txt_path) as f:
        text = f.read()
    lines = text.splitlines()
    headline = "==%d==ERROR: lwipd: irq-violation: %s" % (rep["pid"], rep["message"])
    assert lines[0] == headline, lines[:3]
    assert "rule broken: %s" % rep["violation"]["rule"] in text
    assert "lock:        %s" % rep["violation"]["object"] in text
    assert "ISR stack (thread %s" % isr["thread"] in text
    assert "Interrupted code (under the ISR) (thread %s" % under["thread"] in text
    fr = located_frames(under)[0]
    frame_line = "#%d %s in %s %s:%d" % (under["frames"].index(fr), fr["ip"], fr["fn"],
                                         fr["file"], fr["line"])
    assert frame_line in text, (frame_line, text[:3000])
    assert any(line.lstrip().startswith("#0 0x") for line in lines)
    events = lines.index("Last events (oldest first; time from the incident):")
    assert len(rep["events"]) > 0 and lines[events + 1].split()[2] == rep["events"][0]["type"]
    assert "  " + replay in lines, text[-1500:]
    assert "--ready-fd" not in replay  # the harness's descriptor: not for a shell
    # The summary points at the call that broke the rule: the primitive's caller.
    fns = [f["fn"] for f in isr["frames"]]
    caller = isr["frames"][fns.index(rep["violation"]["primitive"]) + 1]
    assert lines[-1] == "SUMMARY: lwipd: irq-violation (%s on %s) in %s %s:%d" % (
        rep["violation"]["primitive"], rep["violation"]["object"], caller["fn"], caller["file"],
        caller["line"]), lines[-1]

    # lwipctl report: the newest report of a directory, or a file, as text.
    r = harness.run([harness.LWIPCTL, "report", workdir], check=False)
    assert r.returncode == 0 and r.stdout == text, (r.returncode, r.stderr)
    r = harness.run([harness.LWIPCTL, "report", path], check=False)
    assert r.returncode == 0 and r.stdout == text, (r.returncode, r.stderr)
    # A .json without its .txt: rendered from the JSON by the same code.
    os.unlink(txt_path)
    r = harness.run([harness.LWIPCTL, "report", path], check=False)
    assert r.returncode == 0, r.stderr
    # The event times, from the JSON's seconds, may differ in the last digit.
    event_time = re.compile(r"^\s+[+-]\d+\.\d+ s  ")
    same = [line for line in lines if not event_time.match(line)]
    assert [line for line in r.stdout.splitlines() if not event_time.match(line)] == same
    assert len(same) < len(lines)  # the pattern does find the event lines


def test_lwipctl_report_without_a_report(workdir):
    """No report where lwipctl looks: exit 66 (EX_NOINPUT) and say where it
    looked; with no daemon answering, $LOGS_DIRECTORY is the default."""
    empty = os.path.join(workdir, "empty")
    os.mkdir(empty)
    r = harness.run([harness.LWIPCTL, "report", empty], check=False)
    assert r.returncode == 66, (r.returncode, r.stdout, r.stderr)
    assert "no crash report (lwipd-crash-*.json) in %s" % empty in r.stderr, r.stderr
    r = harness.run([harness.LWIPCTL, "-s", os.path.join(workdir, "none.sock"), "report"],
                    check=False, env=dict(os.environ, LOGS_DIRECTORY=empty))
    assert r.returncode == 66 and "in %s ($LOGS_DIRECTORY" % empty in r.stderr, r.stderr
    r = harness.run([harness.LWIPCTL, "report", os.path.join(empty, "missing.json")],
                    check=False)
    assert r.returncode == 66 and "missing.json" in r.stderr, r.stderr
