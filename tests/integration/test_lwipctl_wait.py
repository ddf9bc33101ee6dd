# SPDX-License-Identifier: MIT
"""lwipctl wait ready|link-up|quiet: 0 once the condition holds, 75
(EX_TEMPFAIL) with the last state when --timeout runs out, 64 on a bad
condition."""
from lwipd import testing as harness

EX_USAGE, EX_TEMPFAIL = 64, 75


def wait(sock, *args):
    return harness.run([harness.LWIPCTL, "-s", sock, "wait"] + list(args), check=False,
                       timeout=60)


def test_ready_times_out_without_a_daemon(tmp_path):
    r = wait(str(tmp_path / "none.sock"), "ready", "--timeout", "0.3")
    assert r.returncode == EX_TEMPFAIL, r
    assert "timed out" in r.stderr and "no answer" in r.stderr


def test_unknown_condition_is_a_usage_error(tmp_path):
    r = wait(str(tmp_path / "none.sock"), "sunrise")
    assert r.returncode == EX_USAGE and "wait ready|link-up|quiet" in r.stderr


def test_ready_link_up_and_quiet(netns, lwipd):
    assert wait(lwipd.control, "ready", "--timeout", "5").returncode == 0
    assert wait(lwipd.control, "link-up", "--timeout", "5").returncode == 0
    lwipd.link(False)
    r = wait(lwipd.control, "link-up", "--timeout", "0.3")
    assert r.returncode == EX_TEMPFAIL and "link is down" in r.stderr, r
    lwipd.link(True)
    assert wait(lwipd.control, "link-up", "--timeout", "5").returncode == 0
    # A ping flood keeps frames flowing: not quiet; once it ends, quiet.
    flood = harness.ping_flood(netns, lwipd.ip, count=2000, interval="0.005")
    try:
        r = wait(lwipd.control, "quiet", "--timeout", "1.5")
        assert r.returncode == EX_TEMPFAIL and "frames still flowing" in r.stderr, r
    finally:
        harness.interrupt(flood)
    assert wait(lwipd.control, "quiet", "--timeout", "20").returncode == 0
