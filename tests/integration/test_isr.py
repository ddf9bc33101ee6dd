# SPDX-License-Identifier: MIT
"""ISR heap re-entry: a TX-complete interrupt that frees into a heap the interrupted
code is using. TCP into lwiperf plus ARP traffic, the cable pulled every
100-200 ms; each heap/ISR configuration either gets a report naming the
re-entry or runs clean with everything back to baseline afterwards.

Variants are built by the tests (lwipd.testing.variant_build).
LWIPD_CLEAN_SECONDS sets how long the fixed configurations must run clean
(default 60, as the issue asks)."""
import glob
import json
import os
import re

import pytest

from lwipd import testing as harness

CLEAN_SECONDS = float(os.environ.get("LWIPD_CLEAN_SECONDS", "60"))
DETECT_WITHIN = 10.0  # scenario 1: "within 10 s"
# Corruption that lwIP's own checks must notice, and glibc's tiny critical
# sections, take longer to hit; scripts/bench-isr measures the distribution.
DETECT_RTOS_WITHIN = 30.0
DETECT_LIBC_WITHIN = 120.0
FLAP, EMAC, Storm = harness.STORM_FLAP, harness.STORM_EMAC, harness.Storm

# valgrind runs one thread at a time (its big lock) and delivers a signal
# when the target thread next gets the CPU, where the scheduler left it: an
# IRQ lands inside the interrupted thread's heap critical section only if a
# time slice happened to end there. The re-entry races below wait for
# exactly that, and within their time limits valgrind does not get there
# (scripts/valgrind --all: no detection in 10 s, 120 s for glibc). They run
# in the normal and the ASan builds, where the threads are truly parallel;
# under valgrind the clean storms in this file still run the same ISR code.
parallel_race = pytest.mark.skipif(
    harness.VALGRIND, reason="valgrind serialises threads: the ISR-in-heap race is unreachable")


LWIPERF_DATA_ERROR = re.compile(r"\[lwiperf\] session from \S+: (\d+) bytes in \d+ ms, "
                                r"\d+ kbit/s \(report type 3\)")  # ABORTED_LOCAL_DATAERROR


def lwiperf_baseline(d, baseline):
    """The pool baseline the end of a storm must return to, given what
    lwiperf did.

    lwIP 2.0.x's lwiperf compares the 24-byte iperf2 settings with the data
    at every 128 KiB boundary that happens to start a received pbuf, also
    in a plain (not dual) test, where iperf2 does not repeat them there:
    it then reports a data error (report type 3) after exactly 24 + k *
    128 KiB bytes and closes. That tcp_close(), with data the application
    never took, answers with RST and keeps the PCB in TIME_WAIT for 2 x
    TCP_MSL (2 min), so one TCP PCB and lwIP's TCP timer stay out longer
    than the storm's wait (seen in 60 s storms on 2.0.3: 302907416 bytes =
    24 + 2311 x 128 KiB). lwIP 2.1 compares only for a dual test
    (LWIPERF_FLAGS_ANSWER_TEST; upstream a696b2b5, bug #52901): no data
    error there. (2.0.x also returns ERR_VAL for the pbuf it has just
    freed, which tcp_input keeps as refused data: upstream 2fd83c9d, "fix
    double-free of pbufs on recv error"; the PCB is in TIME_WAIT by then,
    where lwIP does not look at it.)"""
    errors = [int(b) for b in LWIPERF_DATA_ERROR.findall(d.read_log())]
    if d.lwip_version() >= (2, 1, 0):
        assert errors == [], "lwiperf data error on lwIP >= 2.1: %s" % errors
        return baseline
    assert all((b - 24) % (128 * 1024) == 0 for b in errors), errors
    if not errors:
        return baseline
    return dict(baseline, TCP_PCB=baseline["TCP_PCB"] + len(errors),
                SYS_TIMEOUT=baseline["SYS_TIMEOUT"] + 1)  # the TCP timer, armed again


def report(workdir):
    files = glob.glob(os.path.join(workdir, "lwipd-crash-*.json"))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return json.load(f)


def fns(stack):
    return [f["fn"] for f in stack["frames"]]


def started_with(args):
    """{option: value} of an lwipd argument list (flags: True)."""
    out, i = {}, 0
    while i < len(args):
        name = args[i][2:]
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[name], i = args[i + 1], i + 2
        else:
            out[name], i = True, i + 1
    return out


def expect_detection(storm, workdir, within=DETECT_WITHIN):
    code, secs = storm.wait_exit(within)
    storm.d.expect_failure = True
    assert code == 3, "no detection within %ss (exit %s); log:\n%s" % (
        within, code, storm.d.read_log()[-2000:])
    rep = report(workdir)
    log = storm.d.read_log()
    assert "report: " + os.path.join(workdir, "lwipd-crash-") in log  # the path is logged
    return rep, secs


@parallel_race
def test_lwip_heap_isr_free_is_detected(netns, workdir):
    """Scenario 1: lwIP heap, ALLOW=0, --txc-free isr, --irq-policy detect."""
    with Storm(netns, workdir, harness.LWIPD, ["--txc-free", "isr"], DETECT_WITHIN) as s:
        rep, secs = expect_detection(s, workdir)
    assert rep["kind"] == "irq-violation"
    assert "re-entered a lock held by the interrupted context" in rep["violation"]["rule"]
    assert rep["violation"]["object"] == "mutex from mem_init"  # lwIP's mem_mutex
    isr = fns(rep["isr_stack"])
    assert "pbuf_free" in isr and "mem_free" in isr, isr
    assert isr[-1] == "<signal>"
    interrupted = fns(rep["interrupted_stack"])
    assert {"mem_malloc", "mem_free"} & set(interrupted), interrupted
    # Inside the stack: the tcpip thread, or the RX thread feeding a batch of
    # frames to lwIP under the core lock (LWIP_TCPIP_CORE_LOCKING_INPUT, the
    # default; rx_feed may be inlined into rx_batch_post).
    inside = {"tcpip_thread", "rx_batch_post", "rx_feed", "tcpip_inpkt"}
    assert inside & set(interrupted), interrupted
    assert rep["interrupted_stack"]["thread"] in ("tcpip", "tap-rx")
    assert rep["isr_stack"]["tid"] == rep["interrupted_stack"]["tid"]  # the ISR preempted it
    assert rep["config"]["txc_free"] == "isr" and rep["config"]["irq_policy"] == "detect"
    # The report describes the whole run: the EMAC model and the flaps it was
    # started with (harness.STORM_*), the options it was not (defaults).
    given, cfg = started_with(EMAC + FLAP), rep["config"]
    assert cfg["txc_coalesce"] == int(given["txc-coalesce"])
    assert cfg["txc_delay_us"] == int(given["txc-delay-us"])
    assert cfg["txc_jitter_us"] == int(given["txc-jitter-us"])
    assert cfg["link_flap"] == given["link-flap"]
    assert cfg["txc_coalesce_us"] == 0 and cfg["single_core"] is False
    assert cfg["watchdog_ms"] == 5000 and cfg["fatal_action"] == "exit"
    assert rep["build"]["options"]["LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT"] == 0
    assert rep["build"]["options"]["MEM_LIBC_MALLOC"] == 0
    if "MEM_CUSTOM_ALLOCATOR" in rep["build"]["options"]:  # lwIP 2.2+
        assert rep["build"]["options"]["MEM_CUSTOM_ALLOCATOR"] == 0
    else:
        assert not rep["build"]["lwip"].startswith("2.2"), rep["build"]["lwip"]
    assert rep["stats"]["driver"]["free_isr"] > 0
    assert any(e["type"] == "link" for e in rep["events"])
    assert rep["seed"].isdigit()
    with open(os.path.join(workdir, "events.jsonl")) as f:  # the events log starts with it
        first = json.loads(f.readline())
    assert first["type"] == "seed" and first["seed"] == rep["seed"]
    seen = {t["thread"] for t in rep["threads"]} | {rep["isr_stack"]["thread"]}
    assert seen >= {"tap-rx", "tap-dma", "tcpip", "main"}, seen


def test_rtos_policy_lets_the_heap_corrupt(netns, workdir):
    """Scenario 2: the same with --irq-policy rtos: the ISR goes on without
    the lock, as on the board, and lwIP's own checks (mem_free's and
    pbuf_free's asserts) catch the corruption. (The default build: lwIP's
    MEM_SANITY_CHECK has a race of its own, see the next test.)"""
    with Storm(netns, workdir, harness.LWIPD, ["--txc-free", "isr", "--irq-policy", "rtos"],
               DETECT_RTOS_WITHIN) as s:
        rep, secs = expect_detection(s, workdir, DETECT_RTOS_WITHIN)
    assert rep["kind"] in ("lwip-assert", "signal"), rep["kind"]
    assert rep["irq_violations"] > 0  # the rule breaks that were tolerated
    assert "tolerated" in rep["explanation"] and "rtos" in rep["explanation"]
    assert any(e["type"] == "irq-violation" for e in rep["events"])
    stack = fns(rep.get("isr_stack") or rep.get("stack") or rep.get("faulting_stack"))
    assert {"mem_free", "mem_malloc", "pbuf_free", "plug_holes"} & set(stack) or \
        rep["kind"] == "signal", stack
    assert rep["config"]["irq_policy"] == "rtos"


def test_lwip_mem_sanity_check_races_legal_isr_frees(netns, workdir):
    """A finding: with LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT=1, freeing from
    an ISR is allowed, yet MEM_SANITY_CHECK fires, because mem_malloc() calls
    mem_sanity() after releasing the heap lock (mem.c, 2.1.x and 2.2.x): an
    ISR free during that walk looks like corruption. No ISR rule was broken,
    and lwipd's report says the check itself is at fault."""
    binary = harness.variant_build("allow-sanity", "-Dmem_free_from_other_context=true",
                                   "-Dmem_sanity=true")
    with Storm(netns, workdir, binary, ["--txc-free", "isr"], DETECT_RTOS_WITHIN) as s:
        code, secs = s.wait_exit(DETECT_RTOS_WITHIN)
        s.d.expect_failure = True
        version = None if code is not None else s.d.request({"cmd": "version"})["build"]["lwip"]
    if code is None:
        # lwIP 2.0.x has no MEM_SANITY_CHECK: nothing can fire there.
        assert version.startswith("2.0."), "no report from %s" % version
        return
    assert code == 3
    rep = report(workdir)
    assert rep["kind"] == "lwip-assert" and "heap element" in rep["message"]  # mem_sanity's
    assert rep["irq_violations"] == 0
    assert "mem_sanity" in fns(rep["stack"]) and "mem_malloc" in fns(rep["stack"])
    assert "MEM_SANITY_CHECK" in rep["explanation"] and "false alarm" in rep["explanation"]


@parallel_race
def test_rtos_heap_is_not_saved_by_allow_flag(netns, workdir):
    """Scenario 5: an RT-Thread-like heap (semaphore only) with
    LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT=1: still re-entered."""
    binary = harness.variant_build("rtos-allow", "-Dheap=rtos",
                                   "-Dmem_free_from_other_context=true")
    with Storm(netns, workdir, binary, ["--txc-free", "isr"], DETECT_WITHIN) as s:
        rep, secs = expect_detection(s, workdir)
    assert rep["build"]["heap"].startswith("rtos")
    assert rep["build"]["options"]["LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT"] == 1
    assert rep["violation"]["object"] == "mutex from rtos_heap_init"
    assert "rtos_heap_free" in fns(rep["isr_stack"])
    assert {"rtos_heap_malloc", "rtos_heap_free"} & set(fns(rep["interrupted_stack"]))


@parallel_race
def test_libc_heap_reentry_is_detected(netns, workdir):
    """Scenario 6: glibc malloc as lwIP's heap, --txc-free isr."""
    binary = harness.variant_build("libc", "-Dheap=libc")
    with Storm(netns, workdir, binary, ["--txc-free", "isr"], DETECT_LIBC_WITHIN) as s:
        rep, secs = expect_detection(s, workdir, DETECT_LIBC_WITHIN)
    assert rep["build"]["heap"] == "libc"
    # lwIP routed to the wrappers: 2.2 has MEM_CUSTOM_ALLOCATOR for it, 2.0
    # and 2.1 MEM_LIBC_MALLOC with the mem_clib_* hooks (port/heap_opts.h).
    opts = rep["build"]["options"]
    if tuple(int(x) for x in rep["build"]["lwip"].split(".")[:2]) >= (2, 2):
        assert opts["MEM_CUSTOM_ALLOCATOR"] == 1 and opts["MEM_LIBC_MALLOC"] == 0, opts
    else:
        assert opts["MEM_LIBC_MALLOC"] == 1 and "MEM_CUSTOM_ALLOCATOR" not in opts, opts
    assert "libc heap" in rep["violation"]["object"]
    assert "heap_libc_free" in fns(rep["isr_stack"])
    assert {"heap_libc_malloc", "heap_libc_free", "heap_libc_calloc"} & set(
        fns(rep["interrupted_stack"]))


@parallel_race
def test_posix_policy_hang_reported_by_watchdog(netns, workdir):
    """Scenario 7: --irq-policy posix: the ISR blocks on the lock its own
    thread holds; the watchdog reports the hang with every stack."""
    with Storm(netns, workdir, harness.LWIPD,
               ["--txc-free", "isr", "--irq-policy", "posix", "--watchdog-ms", "1000"], 30) as s:
        code, secs = s.wait_exit(30)
        s.d.expect_failure = True
    assert code == 3, s.d.read_log()[-2000:]
    rep = report(workdir)
    assert rep["kind"] == "watchdog"
    # The IRQ lands on whichever thread is inside lwIP (--irq-target stack):
    # the tcpip thread or tap-rx feeding frames under the core lock.
    # The ISR enters by a signal or, when the line was asserted while masked,
    # at the irq_enable() that unmasks it - as a pending IRQ fires on a real
    # core. lwIP 2.0.3's mem_malloc unmasks inside mem_mutex, so there the
    # second way is common.

    def isr_entry(stack):
        return next((i for i, f in enumerate(stack)
                     if f in ("irq_signal_handler", "irq_enable")), None)
    hung = [t for t in rep["threads"] if isr_entry(fns(t)) is not None]
    assert len(hung) == 1, [(t["thread"], fns(t)[:12]) for t in rep["threads"]]
    assert hung[0]["thread"] in ("tcpip", "tap-rx"), hung[0]["thread"]
    stack = fns(hung[0])
    entry = isr_entry(stack)
    # Frozen inside the ISR, waiting for mem_mutex, on top of mem_malloc/free.
    isr_part = stack[:entry + 1]
    assert "sys_mutex_lock" in isr_part and "mem_free" in isr_part, stack
    assert {"mem_malloc", "mem_free"} & set(stack[entry + 1:]), stack
    assert {t["thread"] for t in rep["threads"]} >= {"tap-rx", "tap-dma", "tcpip", "main"}


@pytest.mark.parametrize("variant,extra", [
    ("default", ["--txc-free", "callback"]),   # scenario 3: the free deferred to tcpip
    ("allow", ["--txc-free", "isr"]),           # scenario 4: ALLOW_MEM_FREE_FROM_OTHER_CONTEXT
    ("default", ["--txc-free", "task"]),       # scenario 8
    ("pools", ["--txc-free", "isr"]),           # mem_malloc from pools: ISR-safe too
], ids=["callback", "allow-isr", "task", "pools-isr"])
def test_fixed_configurations_run_clean(netns, workdir, variant, extra):
    binary = {
        "default": lambda: harness.LWIPD,
        "allow": lambda: harness.variant_build("allow", "-Dmem_free_from_other_context=true"),
        "pools": lambda: harness.variant_build("pools", "-Dheap=pools"),
    }[variant]()
    with Storm(netns, workdir, binary, extra, CLEAN_SECONDS) as s:
        code, _ = s.wait_exit(CLEAN_SECONDS)
        assert code is None, "lwipd stopped (%s):\n%s" % (code, s.d.read_log()[-3000:])
        st = s.d.stats()
        s.stop_traffic()
        assert st["irq"]["violations"] == 0
        drv = st["driver"]
        assert drv["txc_isr_runs"] > 100 and drv["link_changes"] > CLEAN_SECONDS * 3
        key = {"callback": "free_callback", "isr": "free_isr", "task": "free_task"}[extra[1]]
        assert drv[key] > 1000, drv
        # Traffic really flowed (flaps slow TCP down, but it keeps going):
        # ten segments a second on average. A per-run total would measure
        # the machine: 732 in 30 s with the load average at 16.
        assert st["lwip"]["tcp"]["recv"] > CLEAN_SECONDS * 10, st["lwip"]["tcp"]
        harness.wait_for(lambda: s.d.stats()["driver"]["ring_used"] == 0, 5, "ring drained")
        harness.wait_for_baseline(s.d, lwiperf_baseline(s.d, s.baseline), timeout=20)
    assert not glob.glob(os.path.join(workdir, "lwipd-crash-*"))
