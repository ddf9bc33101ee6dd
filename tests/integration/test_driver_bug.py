# SPDX-License-Identifier: MIT
"""--driver-bug: the modes are parsed, reported (status, crash reports'
config) and counted (driver_bug_acts); each mode's effect is shown by its
bug zoo entry (zoo/entries/driver-*.toml, free-callback-fail-leak.toml)."""
from lwipd import testing as harness


def test_bad_mode_refused(workdir):
    r = harness.run([harness.LWIPD, "--driver-bug", "tx-free-segments,bogus", "--check-config"],
                    check=False)
    assert r.returncode == 64, (r.returncode, r.stdout, r.stderr)
    assert "--driver-bug: 'tx-free-segments,bogus'" in r.stderr, r.stderr
    r = harness.run([harness.LWIPD, "--driver-bug", "rx-no-refill,", "--check-config"],
                    check=False)
    assert r.returncode == 64, (r.returncode, r.stderr)


def test_modes_reported_and_idle_without_their_trigger(netns, lwipd_factory):
    d = lwipd_factory("--driver-bug", "rx-no-refill,tx-free-segments")
    st = d.request({"cmd": "status"})
    assert st["driver_bug"] == "tx-free-segments,rx-no-refill", st  # bit order
    # Single-pbuf frames are given back correctly even by tx-free-segments,
    # and no RX allocation fails: the modes wait for their trigger.
    p = harness.ping(netns, d.ip, count=20, interval=0.01)
    assert p["received"] == 20, p
    drv = d.stats()["driver"]
    assert drv["driver_bug_acts"] == 0 and drv["rx_nomem"] == 0, drv


def test_default_is_none(netns, lwipd):
    assert lwipd.request({"cmd": "status"})["driver_bug"] == "none"
    assert lwipd.stats()["driver"]["driver_bug_acts"] == 0
