# SPDX-License-Identifier: MIT
"""Start, stop and refusing to start: exit codes, signals, the capture."""
import os
import signal

from lwipd import testing as harness


def test_sigterm_exit_0_and_capture_readable(netns, lwipd):
    assert harness.ping(netns, lwipd.ip, count=5)["received"] == 5
    assert lwipd.stop() == 0
    r = harness.run(["tcpdump", "-n", "-r", lwipd.pcap], check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ICMP echo request") >= 5
    assert r.stdout.count("ICMP echo reply") >= 5
    assert not os.path.exists(lwipd.control)  # socket file removed
    assert "stopping" in lwipd.read_log()


def test_sigint_and_shutdown_command(netns, lwipd_factory):
    d = lwipd_factory()
    d.signal(signal.SIGINT)
    assert d.wait() == 0
    d2 = lwipd_factory()
    assert d2.request({"cmd": "shutdown"})["ok"] is True
    assert d2.wait() == 0


def test_missing_tap_is_unavailable(netns, workdir):
    d = harness.Lwipd(netns, workdir)
    d.args[d.args.index("--tap") + 1] = "nosuchtap0"
    r = netns.run([harness.LWIPD] + d.args, check=False, timeout=20)
    assert r.returncode == 69
    assert "does not exist" in r.stderr and "--create-tap" in r.stderr


def test_create_tap(netns, workdir):
    d = harness.Lwipd(netns, workdir, extra_args=["--create-tap"])
    d.args[d.args.index("--tap") + 1] = "lwtap9"
    d.start()
    try:
        assert "lwtap9" in netns.run(["ip", "-o", "link", "show"]).stdout
        assert d.request({"cmd": "status"})["tap"] == "lwtap9"
    finally:
        assert d.stop() == 0


def test_usage_errors_exit_64(netns):
    for args in (["--ip", "198.18.0.2/24"], ["--tap", "tap0"], ["--tap", "tap0", "--ip", "bogus"],
                 ["--tap", "tap0", "--ip", "198.18.0.2/24", "--mtu", "70000"],
                 ["--tap", "tap0", "--dhcp", "--ip", "198.18.0.2/24"],
                 ["--tap", "tap0", "--ip", "198.18.0.2/24", "--txc-free", "never"],
                 ["--tap", "tap0", "--ip", "198.18.0.2/24", "--no-such-option"],
                 ["--tap", "tap0", "--ip", "198.18.0.2/24", "--mac", "01:00:00:00:00:01"]):
        r = netns.run([harness.LWIPD] + args, check=False, timeout=20)
        assert r.returncode == 64, (args, r.stderr)
        assert r.stderr.strip(), args


def test_help_and_version():
    r = harness.run([harness.LWIPD, "--help"])
    assert "--tap NAME" in r.stdout and "Exit status" in r.stdout and "69" in r.stdout
    r = harness.run([harness.LWIPD, "--version"])
    assert r.stdout.startswith("lwipd ") and "lwIP 2." in r.stdout and "heap:" in r.stdout


def test_control_socket_in_use(netns, lwipd, workdir):
    other = harness.Netns()
    try:
        other.create()
        d = harness.Lwipd(other, os.path.join(workdir, "second"))
        d.control = lwipd.control
        d.args[d.args.index("--control") + 1] = lwipd.control
        r = other.run([harness.LWIPD] + d.args, check=False, timeout=20)
        assert r.returncode == 69 and "in use" in r.stderr
    finally:
        other.delete()
    assert lwipd.request({"cmd": "status"})["ok"] is True


def test_tx_modes_and_free_policies(netns, lwipd_factory):
    for extra in (["--tx-mode", "sync"], ["--txc-free", "callback"], ["--txc-free", "task"],
                  ["--txc-free", "callback", "--txc-coalesce", "1", "--ring-size", "8"]):
        d = lwipd_factory(*extra)
        r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 512 * 1024)
        assert r["match"] is True, extra
        s = d.stats()["driver"]
        if "sync" in extra:
            assert s["ring_size"] == 0 and s["txc_isr_runs"] == 0
        else:
            assert s["txc_isr_runs"] > 0
            key = "free_callback" if "callback" in extra else "free_task"
            harness.wait_for(lambda: d.stats()["driver"][key] > 0, 5, key)
            harness.wait_for(lambda: d.stats()["driver"]["ring_used"] == 0, 5, "ring drained")
        assert d.stop() == 0
