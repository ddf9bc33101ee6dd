# SPDX-License-Identifier: MIT
"""The interrupt's controls (issue 3, "IRQ controls"): which thread the
TX-complete IRQ interrupts, coalescing by time, --single-core; and the ISR
checker on the other rule an ISR can break: calling a primitive that may
block (a tcpip_callback() where tcpip_callbackmsg_trycallback_fromisr()
belongs)."""
import glob
import json
import os
import time

from lwipd import testing as harness

MIB = 1 << 20


def irq_line(d):
    return d.stats()["irq"]["txc"]


def echo_1mib(netns, d):
    r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, MIB)
    assert r["errors"] == [] and r["received"] == MIB and r["match"] is True, r


def test_irq_target_tcpip_is_never_forwarded(netns, lwipd_factory):
    """--irq-target tcpip: the IRQ always interrupts the tcpip thread, even
    while the RX thread runs lwIP under the core lock (the default, stack,
    follows the lock and passes the IRQ on)."""
    d = lwipd_factory("--irq-target", "tcpip", "--txc-coalesce", "1")
    assert d.request({"cmd": "status"})["irq_target"] == "tcpip"
    echo_1mib(netns, d)
    line = irq_line(d)
    # Raises while one is pending merge into it (coalesced), as on a line
    # that is already asserted.
    assert line["serviced"] > 0 and line["raised"] > 0 and line["forwarded"] == 0, line
    assert d.stats()["driver"]["free_task"] > 700  # 1 MiB back out


def test_irq_target_must_be_an_lwip_thread(netns, workdir):
    d = harness.Lwipd(netns, workdir, extra_args=["--irq-target", "no-such-thread"], pcap=False)
    try:
        d.start()
        raise AssertionError("lwipd started with --irq-target no-such-thread")
    except harness.HarnessError:
        pass
    d.expect_failure = True
    assert d.wait(timeout=10) == 64  # a usage error, found once lwIP's threads exist
    assert "--irq-target no-such-thread: no such lwIP thread" in d.read_log()


def test_coalescing_by_time(netns, lwipd_factory):
    """--txc-coalesce 1000 --txc-coalesce-us 400000: a lone frame's
    completion waits for the timer, not for the ring to go idle. The ping's
    reply is on the wire at once (the ring holds its descriptor meanwhile),
    its interrupt comes about 0.4 s later."""
    d = lwipd_factory("--txc-coalesce", "1000", "--txc-coalesce-us", "400000", pcap=False)
    assert harness.ping(netns, d.ip, count=1)["received"] == 1  # ARP settled
    harness.wait_for(lambda: d.stats()["driver"]["ring_used"] == 0, 5, "the ring to drain")
    before = irq_line(d)["serviced"]
    t0 = time.monotonic()
    assert harness.ping(netns, d.ip, count=1)["received"] == 1
    st = d.stats()
    if time.monotonic() - t0 < 0.3:  # read well inside the 0.4 s
        assert st["driver"]["ring_used"] >= 1 and st["irq"]["txc"]["serviced"] == before, st
    harness.wait_for(lambda: irq_line(d)["serviced"] > before, 5, "the timed interrupt")
    waited = time.monotonic() - t0
    assert waited >= 0.35, waited  # not raised when the ring went idle
    assert d.stats()["driver"]["ring_used"] == 0


def test_single_core_pins_every_thread(netns, lwipd_factory):
    d = lwipd_factory("--single-core", pcap=False)
    want = {"main", "tcpip", "tap-rx", "tap-dma", "watchdog"}

    def threads():
        """{thread name: Cpus_allowed_list}; threads may still be starting
        (and naming themselves) just after ready on a loaded machine."""
        cpus = {}
        for tid in os.listdir("/proc/%d/task" % d.pid):
            try:
                with open("/proc/%d/task/%s/status" % (d.pid, tid)) as f:
                    allowed = [ln.split()[1] for ln in f if ln.startswith("Cpus_allowed_list")]
                with open("/proc/%d/task/%s/comm" % (d.pid, tid)) as f:
                    cpus[f.read().strip()] = allowed[0]
            except FileNotFoundError:  # a thread that just ended
                continue
        return cpus if want <= set(cpus) else None

    cpus = harness.wait_for(threads, 5, "lwipd's threads %s" % sorted(want))
    assert len(set(cpus.values())) == 1 and "-" not in next(iter(cpus.values())) and \
        "," not in next(iter(cpus.values())), cpus
    assert "--single-core: every thread on CPU %s" % next(iter(cpus.values())) in d.read_log()
    echo_1mib(netns, d)
    assert harness.ping(netns, d.ip, count=20)["received"] == 20


def test_blocking_post_from_the_isr_is_reported(netns, workdir, lwipd_factory):
    """An ISR that posts with tcpip_callback(): the first call is reported,
    not the day the mailbox is full."""
    d = lwipd_factory("--test-hooks")
    assert d.request({"cmd": "test-isr-post"})["ok"] is True
    harness.ping(netns, d.ip, count=3)  # a frame out, its completion, the ISR
    code = d.wait(timeout=10)
    d.expect_failure = True
    assert code == 3, (code, d.read_log()[-2000:])
    files = glob.glob(os.path.join(workdir, "lwipd-crash-*.json"))
    assert len(files) == 1, files
    with open(files[0]) as f:
        rep = json.load(f)
    assert rep["kind"] == "irq-violation"
    assert rep["violation"]["primitive"] == "sys_mbox_post", rep["violation"]
    isr = [fr["fn"] for fr in rep["isr_stack"]["frames"]]
    # tcpip_callback() is tcpip_callback_with_block() on lwIP 2.0.x
    assert any(f.startswith("tcpip_callback") for f in isr), isr
    assert "txc_isr" in isr and isr[-1] == "<signal>", isr
    assert rep["interrupted_stack"]["frames"], rep["interrupted_stack"]
    assert "report: " + files[0] in d.read_log()
