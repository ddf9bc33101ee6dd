# SPDX-License-Identifier: MIT
"""--driver-priority: the driver's DMA thread (the EMAC's DMA engine) runs
at SCHED_FIFO, every other lwipd thread as it was started - the RX thread
too, which runs lwIP; 0 leaves it ordinary; where real-time scheduling is
not permitted lwipd says so and runs anyway. Evidence: the kernel's own view
of each thread (/proc) and the driver's rt_threads counter."""
import os

from lwipd import testing as harness

SCHED_OTHER, SCHED_FIFO = 0, 1
DRIVER = ("tap-dma",)


def sched(pid):
    """{thread name: [(policy, rt_priority), ...]} from /proc/PID/task."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                comm = f.read().strip()
            with open(base + "stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # a thread that has just ended
        # fields[0] is stat field 3; rt_priority is field 40, policy 41
        out.setdefault(comm, []).append((int(fields[38]), int(fields[37])))
    return out


def check(d, prio):
    s = sched(d.pid)
    for name in DRIVER:
        want = (SCHED_FIFO, prio) if prio else (SCHED_OTHER, 0)
        assert s.get(name) == [want], (name, s)
    others = {n: v for n, v in s.items() if n not in DRIVER}
    assert others and all(p == (SCHED_OTHER, 0) for v in others.values() for p in v), others
    assert d.stats()["driver"]["rt_threads"] == (len(DRIVER) if prio else 0)
    assert harness.ping(d.ns, d.ip, count=20)["received"] == 20


def test_driver_threads_real_time_by_default(lwipd):
    check(lwipd, 10)


def test_driver_priority_option(lwipd_factory):
    d = lwipd_factory("--driver-priority", "0", pcap=False)
    check(d, 0)
    assert d.stop() == 0
    d = lwipd_factory("--driver-priority", "42", pcap=False)
    check(d, 42)


def test_not_permitted_runs_ordinary(lwipd_factory):
    # root without CAP_SYS_NICE, and RLIMIT_RTPRIO 0: SCHED_FIFO is refused
    d = lwipd_factory(pcap=False, wrapper=["prlimit", "--rtprio=0:0", "setpriv",
                                           "--inh-caps=-sys_nice", "--bounding-set=-sys_nice"])
    check(d, 0)
    assert "--driver-priority 10: Operation not permitted; the DMA thread is not real-time" \
        in d.read_log()
