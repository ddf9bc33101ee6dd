# SPDX-License-Identifier: MIT
"""The daemon's own faults: capture rotation under load keeps every frame
the driver counted, a stopped process (debugger, cgroup freezer, paused VM)
is not reported as a wedged stack, and --control never deletes a file that
is not a socket, and makes it again when it is removed; an unusable
/dev/net/tun is a clear error."""
import errno
import glob
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import time

import pytest

from lwipd import testing as harness
from lwipd.testing import read_events as events

SIGHUPS = 10
SIGHUP_EVERY = 0.2


def driver_frames(d):
    drv = d.stats()["driver"]
    return drv["rx_frames"] + drv["tx_frames"]


def test_sighup_rotation_keeps_every_frame_the_driver_counted(netns, lwipd_factory):
    # Small records, files only rotated by SIGHUP and by size, and room for
    # every file the test makes (so the count below covers all of them).
    d = lwipd_factory("--pcap-snaplen", "64", "--pcap-rotate", "64M:60")
    load = netns.popen(["timeout", "60", "iperf3", "-c", d.ip, "-t", "3"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        harness.wait_for(lambda: d.stats()["capture"]["frames"] > 1000, 15, "iperf3 running")
        for i in range(SIGHUPS):
            d.signal(signal.SIGHUP)
            harness.wait_for(lambda: d.stats()["capture"]["rotations"] > i, 5,
                             "rotation %d" % (i + 1))
            # the next SIGHUP is due SIGHUP_EVERY after this one: poll until then
            due = time.monotonic() + SIGHUP_EVERY
            harness.wait_for(lambda: time.monotonic() >= due, 2, "the next SIGHUP")
        harness.wait_for(lambda: load.poll() is not None, 60, "iperf3 done")
    finally:
        harness.interrupt(load)
    rotations = d.stats()["capture"]["rotations"]
    assert SIGHUPS <= rotations < 59, rotations  # no file fell off the end
    # The driver's count before and after the capture stops: every frame
    # between them (none once iperf3 is done, but ARP may pass) may or may
    # not be in the files; every frame before is.
    before = driver_frames(d)
    assert d.request({"cmd": "capture", "op": "stop"})["ok"]
    after = driver_frames(d)
    files = sorted(glob.glob(d.pcap + "*"))
    assert len(files) == rotations + 1, files
    in_files = sum(len(harness.read_pcap(f)) for f in files)
    assert before <= in_files <= after, (
        "driver counted %d..%d frames, the %d files hold %d (%d missing)" % (
            before, after, len(files), in_files, before - in_files))
    assert in_files == d.stats()["capture"]["frames"]


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def thread_names(pid):
    names = []
    for task in glob.glob("/proc/%d/task/*/comm" % pid):
        try:
            with open(task) as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended
            pass
    return names


def test_sigstop_longer_than_the_watchdog_is_not_a_stall(netns, lwipd_factory):
    limit_ms = 500
    d = lwipd_factory("--watchdog-ms", str(limit_ms))
    # The watchdog names its thread once it has taken its first time stamp.
    harness.wait_for(lambda: "watchdog" in thread_names(d.pid), 5, "the watchdog thread")
    for trial in range(3):
        d.signal(signal.SIGSTOP)
        harness.wait_for(lambda: proc_state(d.pid) == "T", 5, "lwipd stopped")
        # Stopped for four watchdog periods (it must stay stopped throughout).
        until = time.monotonic() + 4 * limit_ms / 1000
        while time.monotonic() < until:
            assert proc_state(d.pid) == "T", trial
            time.sleep(0.05)
        d.signal(signal.SIGCONT)
        harness.wait_for(lambda: proc_state(d.pid) != "T", 5, "lwipd running again")
        # Three watchdog periods after the resume: still alive and answering.
        until = time.monotonic() + 3 * limit_ms / 1000
        while time.monotonic() < until:
            assert d.alive(), "trial %d: lwipd exited %s\n%s" % (
                trial, d.proc.poll(), d.read_log())
            assert d.request({"cmd": "status"})["ok"], trial
            time.sleep(0.05)
    log = d.read_log()
    assert "no progress" not in log and "FATAL" not in log, log
    assert log.count("without running: not a stall") >= 3, log  # the watchdog saw each stop
    assert not glob.glob(os.path.join(d.workdir, "*crash*")), os.listdir(d.workdir)
    assert d.stop() == 0


@pytest.fixture
def short_dir():
    """A directory for control socket paths: a socket's path has at most 107
    characters, and the test artifacts' directory may be deeper than that."""
    with tempfile.TemporaryDirectory(prefix="lwipd-ctl-", dir="/tmp") as d:
        yield d


def test_control_path_that_is_a_regular_file_is_refused(netns, short_dir):
    path = os.path.join(short_dir, "not-a-socket")
    with open(path, "w") as f:
        f.write("precious\n")
    p = netns.popen([harness.LWIPD, "--tap", netns.tap, "--ip", harness.LWIP_IP + "/24",
                     "--control", path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=10 * harness.TIME_SCALE)
    except subprocess.TimeoutExpired:
        p.kill()  # ours (ip netns exec becomes lwipd)
        p.communicate(timeout=10)
        raise AssertionError("lwipd started on %s (a regular file) instead of refusing" % path)
    assert p.returncode == 73, (p.returncode, err)  # EX_CANTCREAT
    assert path in err and "not a socket" in err, err
    with open(path) as f:
        assert f.read() == "precious\n"


def test_control_path_with_a_stale_socket_is_replaced(netns, workdir, short_dir):
    path = os.path.join(short_dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens: what a killed lwipd leaves
    d = harness.Lwipd(netns, workdir, pcap=False)
    d.args[d.args.index("--control") + 1] = d.control = path
    d.start()
    assert d.request({"cmd": "status"})["ok"]
    assert d.stop() == 0
    assert not os.path.exists(path)  # removed at a clean exit


@pytest.mark.parametrize("setup,words", [
    ("mount -t tmpfs none /dev/net", "needs the tun driver"),  # no device node
    ("mount --bind /dev/null /dev/net/tun", "not the tun device"),  # a node, not tun's
], ids=["missing", "not-tun"])
def test_tun_device_unusable_is_a_clear_error(netns, short_dir, setup, words):
    """/dev/net/tun missing (a container without it) or another device in its
    place: lwipd says what is wrong with the device, not only that the TAP
    failed, and exits 69 (EX_UNAVAILABLE). In a private mount namespace:
    the host's /dev is not touched."""
    r = netns.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   setup + ' && exec "$@"', "sh", harness.LWIPD, "--tap", netns.tap,
                   "--ip", harness.LWIP_IP + "/24",
                   "--control", os.path.join(short_dir, "c.sock")],
                  check=False, timeout=20 * harness.TIME_SCALE)
    assert r.returncode == 69, (r.returncode, r.stderr)
    assert "/dev/net/tun" in r.stderr and words in r.stderr, r.stderr


def test_control_socket_removed_is_made_again(netns, workdir):
    """The control socket's file removed (a tmp cleaner, an operator's rm),
    then its whole directory: lwipd notices within a second, makes the
    directory and the socket again with their mode, logs it and records an
    event; the client already connected keeps working. Something else put
    at the path is left alone and logged, and once it is gone the socket
    comes back."""
    top = tempfile.mkdtemp(prefix="lwipd-ctl-", dir="/tmp")
    try:
        path = os.path.join(top, "run", "c.sock")
        os.mkdir(os.path.dirname(path))
        ev = os.path.join(workdir, "events.jsonl")
        d = harness.Lwipd(netns, workdir, pcap=False, extra_args=("--events", ev))
        d.args[d.args.index("--control") + 1] = d.control = path
        d.start()
        ino = os.stat(path).st_ino
        with harness.ControlClient(path) as old:
            os.unlink(path)
            harness.wait_for(lambda: os.path.exists(path), 5 * harness.TIME_SCALE,
                             "the socket made again")
            assert os.stat(path).st_ino != ino
            assert d.request({"cmd": "status"})["ok"] is True  # through the new file
            assert old.request({"cmd": "version"})["ok"] is True  # the old connection
        shutil.rmtree(os.path.dirname(path))
        harness.wait_for(lambda: os.path.exists(path), 5 * harness.TIME_SCALE,
                         "the directory and the socket made again")
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert d.request({"cmd": "status"})["ok"] is True
        # Something else at the path: left alone, said once.
        os.unlink(path)
        with open(path, "w") as f:
            f.write("precious\n")
        harness.wait_for(lambda: "not replacing it" in d.read_log(), 5 * harness.TIME_SCALE,
                         "the refusal to replace a regular file logged")
        with open(path) as f:
            assert f.read() == "precious\n"
        os.unlink(path)
        harness.wait_for(lambda: os.path.exists(path), 5 * harness.TIME_SCALE,
                         "the socket made again once the file is gone")
        assert d.request({"cmd": "status"})["ok"] is True
        assert d.read_log().count("was removed: made again") == 3
        assert d.stop() == 0
        with open(ev) as f:
            remade = [json.loads(x) for x in f if '"control"' in x]
        assert [e["socket"] for e in remade] == ["remade"] * 3, remade
    finally:
        shutil.rmtree(top, ignore_errors=True)


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_wall_clock_set_back_and_forth_changes_only_the_stamps(netns, lwipd_factory, workdir):
    """The system time set back an hour, then forward two (libfaketime under
    lwipd alone: the machine's clock is not touched; the monotonic clock
    runs on). Timers and waits use monotonic time, so nothing fires early
    (no watchdog report, with a 1 s watchdog) and nothing waits for the wall
    clock to catch up: pings, a TCP echo and socket churn work after each
    jump. Only the stamps of events and frames (the capture's clock, the
    wall clock by design) jump."""
    offset = os.path.join(workdir, "faketime")
    with open(offset, "w") as f:
        f.write("+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": offset,
           "FAKETIME_CACHE_DURATION": "1", "DONT_FAKE_MONOTONIC": "1"}
    if os.environ.get("ASAN_OPTIONS"):  # the sanitizer's runtime is then not first
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    ev = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--watchdog-ms", "1000", "--churn", "--events", ev, env=env)
    churn = harness.CHURN
    sent = {}  # mark text: our wall clock when it was asked for

    def clock_offset(want):
        """Ask for a mark; True once a mark's stamp is WANT s off ours."""
        text = "clock-%d" % len(sent)
        sent[text] = time.time()
        d.request({"cmd": "capture", "op": "mark", "text": text})
        return any(abs(e["ts_ns"] / 1e9 - sent[e["text"]] - want) < 60
                   for e in events(ev, "mark") if e["text"] in sent)

    def works():
        assert harness.ping(netns, d.ip, count=10, interval=0.05)["received"] == 10
        r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 256 * 1024)
        assert r["match"] is True, r
        c = netns.run([churn, "-c", "4", "-n", "100", "-s", "16", d.ip, "7777"],
                      timeout=120, check=False)
        assert c.returncode == 0 and json.loads(c.stdout)["ok"] == 100, c.stdout + c.stderr

    works()
    for spec, want in (("-1h", -3600), ("+1h", 3600)):
        with open(offset, "w") as f:
            f.write(spec + "\n")
        harness.wait_for(lambda: clock_offset(want), 10 * harness.TIME_SCALE,
                         "lwipd's wall clock at %s" % spec, interval=0.3)
        works()
    assert d.alive()
    assert d.stop() == 0  # flushes the events log
    assert not [e for e in events(ev) if e["type"] in ("watchdog", "fatal")]


def address_space_limits_apply():
    """RLIMIT_AS means something for this build: not under ASan (which
    reserves terabytes of address space for its shadow at start) nor under
    valgrind (its own address space), where the limit would only show that
    the tool cannot start."""
    return harness.build_options().get("b_sanitize", "none") == "none" and not harness.VALGRIND


@pytest.mark.skipif(not address_space_limits_apply(),
                    reason="RLIMIT_AS: the sanitizer or valgrind needs the address space")
def test_address_space_limit_at_start_is_a_clear_failure(netns, short_dir):
    """ulimit -v too small for lwIP's threads: where a thread cannot be made
    (lwIP's tcpip thread, the driver's, the delay line's), lwipd says so and
    exits 71 (EX_OSERR) before READY; never a hang, never an lwIP assert."""
    codes = {}
    for mib in (48, 64, 80, 96, 104, 112):
        r = netns.run(["prlimit", "--as=%d" % (mib << 20), harness.LWIPD, "--tap", netns.tap,
                       "--ip", harness.LWIP_IP + "/24", "--control",
                       os.path.join(short_dir, "c.sock")],
                      check=False, timeout=20)  # a hang would end here: fails the test
        codes[mib] = r.returncode
        assert r.returncode == 71, (mib, r.returncode, r.stderr[-2000:])
        assert "Resource temporarily unavailable" in r.stderr or "out of memory" in r.stderr
        assert "lwip-assert" not in r.stderr and "READY" not in r.stderr
    assert set(codes.values()) == {71}, codes


@pytest.mark.skipif(not address_space_limits_apply(),
                    reason="RLIMIT_AS: the sanitizer or valgrind needs the address space")
def test_address_space_limit_under_load_fails_requests_not_lwipd(netns, lwipd_factory):
    """lwipd runs, then its address space is capped at what it uses now
    (prlimit on the running process): under control requests, pings and a
    TCP echo it answers whole, refuses ("out of memory": never half an
    answer) or closes a connection it has no memory for, never hangs or dies;
    with the limit lifted everything works and lwIP is back to its leak
    baseline (the teardown checks)."""
    # The answers' keys, from another lwipd: a request made in the capped one
    # before the cap would leave glibc room (its mmap threshold rises when a
    # large block is freed) and nothing would fail.
    first = lwipd_factory("--pcap-snaplen", "96")
    keys = {c: set(first.request({"cmd": c})) for c in ("stats", "status")}
    assert first.stop() == 0
    # One malloc arena: a thread's own arena reserves 64 MB of address space
    # up front, and what lands in it would dodge the cap at random.
    d = lwipd_factory("--pcap-snaplen", "96", env={"MALLOC_ARENA_MAX": "1"})
    with open("/proc/%d/status" % d.pid) as f:
        vm = [int(x.split()[1]) for x in f if x.startswith("VmSize:")][0] * 1024
    harness.run(["prlimit", "--pid", str(d.pid), "--as=%d:" % vm])
    answered = refused = dropped = 0

    def judge(r, cmd):
        nonlocal answered, refused
        if r.get("ok"):  # whole, or not at all: no half answers
            assert set(r) == keys[cmd] | {"id"}, r.keys()
            answered += 1
        else:
            assert "memory" in r.get("error", ""), r
            refused += 1

    try:
        # 100 clients at once, each owed a stats answer before any reads:
        # lwipd needs memory it has not got (what it has free would serve
        # one request after another).
        clients = []
        for i in range(100):
            try:
                c = harness.ControlClient(d.control, timeout=10)
                c.send_raw(b'{"cmd":"stats","id":%d}\n' % i)
                clients.append(c)
            except (ConnectionResetError, BrokenPipeError):
                dropped += 1
        for c in clients:
            try:
                judge(c.read_line(), "stats")
            except (EOFError, ConnectionResetError, BrokenPipeError):  # no memory for it
                dropped += 1
            c.close()
        for i in range(100):
            cmd = "stats" if i % 2 else "status"
            try:
                judge(d.request({"cmd": cmd, "id": i}, timeout=10), cmd)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                dropped += 1
        p = harness.ping(netns, d.ip, count=20, interval=0.02)
        e = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 256 * 1024, check=False)
        assert d.alive()
    finally:
        harness.run(["prlimit", "--pid", str(d.pid), "--as=unlimited:"])
    print("capped: %d answered, %d refused, %d dropped; ping %d/20; echo %s" % (
        answered, refused, dropped, p["received"], e.get("match")))
    assert answered + refused + dropped == 200
    assert refused + dropped > 0  # the cap bit (14 runs: 69-160 refused, 24-73 closed)
    assert harness.ping(netns, d.ip, count=5)["received"] == 5
    e = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 256 * 1024)
    assert e["match"] is True, e


def pcap_whole(path):
    """Whether the classic pcap file PATH ends exactly at a record boundary."""
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    return off == len(data)


@pytest.fixture
def small_tmpfs():
    """A 2 MiB tmpfs on a directory of its own, unmounted and removed at the end."""
    path = tempfile.mkdtemp(prefix="lwipd-full-", dir="/tmp")
    harness.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "lwipd-test", path])
    try:
        yield path
    finally:
        harness.run(["umount", path], check=False)
        os.rmdir(path)


def test_capture_disk_full_stops_the_capture_not_lwip(netns, workdir, small_tmpfs):
    pcap = os.path.join(small_tmpfs, "cap.pcap")
    ev = os.path.join(workdir, "events.jsonl")
    d = harness.Lwipd(netns, workdir, pcap=False, extra_args=["--pcap", pcap, "--events", ev])
    d.start()
    load = netns.popen(["timeout", "20", "iperf3", "-c", d.ip, "-t", "3"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        harness.wait_for(lambda: events(ev, "capture-error"), 15, "the capture-error event")
    finally:
        harness.interrupt(load)
    err = events(ev, "capture-error")
    assert len(err) == 1 and err[0]["errno"] == errno.ENOSPC, err
    assert "No space left on device: capture stopped" in d.read_log()
    st = d.request({"cmd": "stats"})["stats"]["capture"]
    assert st["running"] is False and st["errno"] == errno.ENOSPC, st
    # The file is cut back to its last whole record, which the event gives.
    assert os.path.getsize(pcap) == err[0]["bytes"] and pcap_whole(pcap)
    assert len(harness.read_pcap(pcap)) > 100
    # lwIP runs on.
    assert d.request({"cmd": "status"})["ok"] is True
    assert harness.ping(netns, d.ip, count=5)["received"] == 5
    e = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 64 * 1024)
    assert e["match"] is True, e
    # Room again: a new capture in the same directory works.
    os.unlink(pcap)
    r = d.request({"cmd": "capture", "op": "start", "path": "again.pcap"})
    assert r["ok"] is True and r["capturing"] is True, r
    again = os.path.join(small_tmpfs, "again.pcap")
    assert harness.ping(netns, d.ip, count=5)["received"] == 5
    harness.wait_for(lambda: len(harness.read_pcap(again)) >= 10, 5, "frames in again.pcap")
    assert d.request({"cmd": "stats"})["stats"]["capture"]["errno"] == 0
    assert d.stop() == 0


def events_files(path):
    """The events log PATH and its rotated files, oldest first."""
    rotated = [p for p in glob.glob(path + ".*") if p.rsplit(".", 1)[1].isdigit()]
    return sorted(rotated, key=lambda p: -int(p.rsplit(".", 1)[1])) + [path]


def test_events_log_rotates_by_size_and_on_sighup(netns, lwipd_factory, workdir):
    ev = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--link-flap", "20:10:50", "--events", ev, "--events-rotate", "2K:100")
    harness.wait_for(lambda: sum(len(events(f, "link")) for f in events_files(ev)) >= 101, 15,
                     "50 flaps in the events files")
    before = events_files(ev)
    d.signal(signal.SIGHUP)  # a new file now, as the capture's
    harness.wait_for(lambda: len(events_files(ev)) == len(before) + 1, 5, "the SIGHUP rotation")
    mark = d.request({"cmd": "capture", "op": "mark", "text": "after SIGHUP"})["event"]
    harness.wait_for(lambda: [e for e in events(ev, "mark") if e["seq"] == mark], 5,
                     "the mark in the new file")
    last = d.stats()["events"]
    assert d.stop() == 0  # writes what is left
    seqs = []
    for f in events_files(ev):
        with open(f) as fh:
            lines = fh.read().splitlines()
        assert lines, f
        assert os.path.getsize(f) <= 2000, (f, os.path.getsize(f))  # 2K: 2000 bytes
        for line in lines:
            e = json.loads(line)  # every line whole
            assert e["type"] != "events-lost", e
            seqs.append(e["seq"])
    # Every event in exactly one file, in order, none missing.
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= last, (len(seqs), last)
    assert len(events_files(ev)) >= 5


def test_events_log_reopened_on_sighup_after_logrotate(netns, lwipd_factory, workdir):
    ev = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--events", ev)
    first = d.request({"cmd": "capture", "op": "mark", "text": "before"})["event"]
    harness.wait_for(lambda: [e for e in events(ev, "mark") if e["seq"] == first], 5,
                     "the first mark")
    os.rename(ev, ev + ".old")  # as logrotate does, without copytruncate
    d.signal(signal.SIGHUP)
    harness.wait_for(lambda: os.path.exists(ev), 5, "the events log made again")
    second = d.request({"cmd": "capture", "op": "mark", "text": "after"})["event"]
    harness.wait_for(lambda: [e for e in events(ev, "mark") if e["seq"] == second], 5,
                     "the second mark in the new file")
    old = [e["seq"] for e in events(ev + ".old")]
    new = [e["seq"] for e in events(ev)]
    assert old == list(range(1, len(old) + 1)) and first in old
    assert new == list(range(len(old) + 1, len(old) + len(new) + 1)) and second in new


def test_events_log_on_a_full_disk_keeps_whole_lines_and_catches_up(netns, lwipd_factory,
                                                                    small_tmpfs):
    ev = os.path.join(small_tmpfs, "events.jsonl")
    filler = os.path.join(small_tmpfs, "filler")
    st = os.statvfs(small_tmpfs)
    with open(filler, "wb") as f:  # leave one page: the flaps' events need more
        f.write(b"\0" * (st.f_bavail * st.f_frsize - 4096))
    d = lwipd_factory("--link-flap", "20:10:40", "--events", ev, pcap=False)
    harness.wait_for(lambda: d.stats()["events"] >= 81, 15, "40 flaps recorded")
    harness.wait_for(lambda: os.path.getsize(ev) > 2048, 5, "the disk filling")
    for line in open(ev).read().splitlines():
        json.loads(line)  # only whole lines, though the disk is full
    assert os.path.getsize(ev) <= 4096
    last = d.stats()["events"]
    os.unlink(filler)  # room again: the writer catches up, nothing lost
    harness.wait_for(lambda: max(e["seq"] for e in events(ev)) >= last, 5, "the events log")
    seqs = [e["seq"] for e in events(ev)]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
