# SPDX-License-Identifier: MIT
"""The daemon's own faults: capture rotation under load keeps every frame
the driver counted."""
import glob
import signal
import subprocess
import time

import harness

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
