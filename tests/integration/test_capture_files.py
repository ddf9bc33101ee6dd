# SPDX-License-Identifier: MIT
"""The capture file under stress: SIGKILL leaves a file tcpdump reads up to
the last flush (100 ms); SIGHUP rotates it without losing a frame."""
import signal
import struct

from lwipd import testing as harness


def pcap_records(path):
    """(records, whole): the record count, and whether the file ends exactly
    at a record boundary."""
    with open(path, "rb") as f:
        data = f.read()
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        if off + 16 + incl > len(data):
            break
        off += 16 + incl
        n += 1
    return n, off == len(data)


def tcpdump_count(path):
    r = harness.run(["tcpdump", "-n", "-r", path], check=False)
    return r.returncode, len(r.stdout.splitlines()), r.stderr


def test_sigkill_leaves_a_readable_capture(netns, lwipd):
    lwipd.expect_failure = True  # killed on purpose
    load = harness.ping_flood(netns, lwipd.ip, 3000, size=1000)
    try:
        harness.wait_for(lambda: lwipd.stats()["capture"]["frames"] > 500, 15, "frames captured")
        seen = lwipd.stats()["capture"]["frames"]
        # Within a flush period (100 ms) they are on disk, in whole records.
        harness.wait_for(lambda: pcap_records(lwipd.pcap)[0] >= seen, 2,
                         "%d frames flushed to disk" % seen, interval=0.01)
        lwipd.signal(signal.SIGKILL)  # mid-load: frames are being written
        assert lwipd.wait() == -signal.SIGKILL
    finally:
        harness.interrupt(load)
    n, whole = pcap_records(lwipd.pcap)
    assert n >= seen and whole, (n, seen, whole)
    code, lines, err = tcpdump_count(lwipd.pcap)
    assert code == 0 and lines == n, (code, lines, n, err)


def test_sighup_rotates_without_losing_frames(netns, lwipd):
    load = harness.ping_flood(netns, lwipd.ip, 1500, size=1000)
    try:
        harness.wait_for(lambda: lwipd.stats()["capture"]["frames"] > 300, 15, "frames captured")
        lwipd.signal(signal.SIGHUP)  # under load
        harness.wait_for(lambda: lwipd.stats()["capture"]["rotations"] == 1, 5, "rotated")
        harness.wait_for(lambda: load.poll() is not None, 30, "load done")
    finally:
        harness.interrupt(load)
    total = lwipd.stats()["capture"]["frames"]
    assert lwipd.stop() == 0  # flushes and closes the second file
    old, new = lwipd.pcap + ".1", lwipd.pcap
    n_old, whole_old = pcap_records(old)
    n_new, whole_new = pcap_records(new)
    assert whole_old and whole_new
    assert n_old > 300 and n_new > 0
    # every frame the writer took is in exactly one of the files
    assert n_old + n_new == total, (n_old, n_new, total)
    # and in order across them: the new file starts where the old one ended
    last_old = harness.read_pcap(old)[-1][0]
    first_new = harness.read_pcap(new)[0][0]
    assert first_new >= last_old
    for path, n in ((old, n_old), (new, n_new)):
        code, lines, err = tcpdump_count(path)
        assert code == 0 and lines == n, (path, err)
    assert "SIGHUP" in lwipd.read_log()
