# SPDX-License-Identifier: MIT
"""Fixtures: a fresh namespace + TAP per test, lwipd started through its
ready line and stopped at teardown. When a test or a teardown check fails,
its artifacts (log, capture, a stats snapshot, and report.html drawn from
them by lwipd-report) are kept and their paths printed; this holds for the
lwipd a test starts itself too (harness.Lwipd, harness.Storm), which the
netns fixture checks and stops."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ARTIFACTS = os.path.abspath(os.environ.get("LWIPD_ARTIFACTS",
                                           os.path.join(harness.BUILD, "test-artifacts")))


# The version matrix (scripts/test runs these on lwIP 2.0.3 and 2.2.1, and
# the whole suite on 2.1.3): the tests whose outcome depends on lwIP's
# version, with a branch per version or a limit read from the build, and a
# smoke test of each big area. The one place that says which tests run
# where; pytest --version-matrix selects them (node id prefixes).
VERSION_MATRIX = (
    "test_bringup.py",                  # ARP, ping, status, counters
    "test_churn.py",                    # select/close socket leak, TIME_WAIT, accept queue
    "test_churn_builds.py",             # FULLDUPLEX=0 reuse race, allocation tracking
    "test_dhcp.py",                     # DHCP lease
    "test_link.py",                     # link down/up, gratuitous ARP (LWIP_ACD on 2.2)
    "test_link_flap.py",
    "test_isr.py",                      # ISR heap re-entry: heaps and fixes per version
    "test_irq_controls.py",             # tcpip_callback flavours (2.0 vs 2.1)
    "test_notify.py::test_ready_status_and_watchdog_pings_stop_when_the_stack_stalls",
    "test_stats.py",                    # IGMP counters and fields
    "test_faults.py::test_arp",         # ARP faults, conflicts (2.2 from_us)
    "test_faults.py::test_gratuitous_arp_after_every_link_up",
    "test_faults.py::test_many_arp_senders_fill_the_table",  # ARP_TABLE_SIZE
    "test_faults.py::test_link_down_with_frames_in_flight",
    "test_faults.py::test_tcp_10mib_under_5pct_loss",  # TCP under loss (SACK from 2.1)
    "test_apps.py::test_tcp_echo_1mib_byte_for_byte",
    "test_apps.py::test_iperf2_against_lwiperf",
    "test_iperf3.py::test_basic_tcp_receive",  # iperf3 smoke, TCP_MSS from the build
    "test_iperf3.py::test_udp_receive",
    "test_iperf3.py::test_lwip_client_tcp",
    "test_build.py",                    # builds against the tree under test
    "test_lwip_apps.py",                # lwIP's apps: mdns/tftp APIs per version, 2.0's TFTP names
    "test_robustness.py::test_10000_malformed_frames",
    "test_robustness.py::test_hostile_",  # fuzz, SYN flood, fragment storm, DHCP: per version
)


# What the sanitizer pass (scripts/test's ASan+UBSan build) leaves out: tests
# whose lwipd does nothing the rest of the suite does not already run under
# the sanitizers, and which cost minutes there. The one place that says so;
# pytest --sanitizer-subset applies it.
SANITIZER_SKIP = (
    "test_demo.py",           # scripts/demo: ping, iperf3, a cable pull, a loss rule, report
    "test_report.py",         # lwipd-report and Chromium; lwipd as in test_iperf3/test_faults
    "test_report_readers.py",  # Python only
    "test_soak_verdict.py",   # Python only
    "test_docs.py",           # man pages and --help: no daemon at work
    "test_zoo.py",            # the zoo's runner: builds of its own, not this sanitized one
)


# The suite on another lwipopts.h (scripts/test --lwipopts DIR, and CI's
# port/opts/small and port/opts/vendor): a test whose feature or limit the
# profile lacks is skipped, naming the option and why. The one place that
# says so: (node id prefix, reason, predicate on the build's facts), where
# the facts are lwipd --version's lwIP options (harness.lwip_options()),
# LWIP_VERSION (a tuple) and LWIPPOOLS_H (the profile's directory has a
# lwippools.h). A reason starting "finding:" is lwIP misbehaving under that
# profile (evidence in the comment above the rule). A rule applies
# when its predicate is true. Each reason names the option it reads.
PROFILE_NEEDS = (
    ("", "LWIP_TCP=0: the test speaks TCP to lwIP", lambda o: not o.get("LWIP_TCP", 1)),
    ("test_apps.py::test_udp_echo", "LWIP_UDP=0: UDP echo", lambda o: not o.get("LWIP_UDP", 1)),
    ("test_apps.py::test_tcp_and_udp_", "LWIP_UDP=0: UDP discard/chargen",
     lambda o: not o.get("LWIP_UDP", 1)),
    ("test_iperf3.py::test_udp_", "LWIP_UDP=0: iperf3 over UDP",
     lambda o: not o.get("LWIP_UDP", 1)),
    ("test_iperf3.py::test_lwip_client_udp", "LWIP_UDP=0: iperf3 over UDP",
     lambda o: not o.get("LWIP_UDP", 1)),
    ("test_lwip_apps.py", "LWIP_UDP=0: SNTP, mDNS and TFTP run over UDP",
     lambda o: not o.get("LWIP_UDP", 1)),
    ("test_dhcp.py", "LWIP_DHCP=0: no DHCP client", lambda o: not o.get("LWIP_DHCP", 1)),
    ("test_robustness.py::test_hostile_dhcp", "LWIP_DHCP=0: no DHCP client",
     lambda o: not o.get("LWIP_DHCP", 1)),
    ("test_igmp.py", "LWIP_IGMP=0: no multicast groups", lambda o: not o.get("LWIP_IGMP", 1)),
    ("test_stats.py::test_igmp_", "LWIP_IGMP=0: no IGMP counters",
     lambda o: not o.get("LWIP_IGMP", 1)),
    ("test_robustness.py::test_hostile_fuzz_every_layer", "LWIP_IGMP=0: the fuzz joins a group",
     lambda o: not o.get("LWIP_IGMP", 1)),
    ("test_churn.py", "LWIP_SOCKET=0: the churn server uses lwIP's sockets",
     lambda o: not o.get("LWIP_SOCKET", 1)),
    ("test_churn_builds.py", "LWIP_SOCKET=0: the churn server uses lwIP's sockets",
     lambda o: not o.get("LWIP_SOCKET", 1)),
    ("test_robustness.py::test_hostile_fragment_storm",
     "IP_REASSEMBLY=0: no reassembly to storm", lambda o: not o.get("IP_REASSEMBLY", 1)),
    # The pool heap variant (-Dheap=pools, MEM_USE_POOLS) needs the
    # profile's own lwippools.h (port/opts/default has one).
    ("test_isr.py::test_fixed_configurations_run_clean[pools-isr]",
     "no lwippools.h beside the profile's lwipopts.h: -Dheap=pools (MEM_USE_POOLS) "
     "cannot build", lambda o: not o["LWIPPOOLS_H"]),
    # The race closes sockets another thread is in select() on, which lwIP
    # allows only with LWIP_NETCONN_FULLDUPLEX=1: without it 2.1+ hands such
    # a slot to the next accept() and asserts (port/opts/vendor, 2.1.3;
    # test_churn_builds.py::test_fullduplex0_select_close_race records it).
    ("test_churn.py::test_20000_connections_closer_racing_selector",
     "LWIP_NETCONN_FULLDUPLEX=0: closing a socket while another thread selects on it is "
     "not allowed (2.1+ asserts 'sockets[i].select_waiting == 0')",
     lambda o: not o["LWIP_NETCONN_FULLDUPLEX"] and o["LWIP_VERSION"] >= (2, 1, 0)),
    # Finding (lwIP's, not lwipd's): with a few TCP PCBs, clients that
    # vanish keep them all closing; every SYN lwIP then cannot give a PCB
    # posts an ERR_ABRT marker to the listener's accept mailbox
    # (accept_function, newpcb NULL), the mailbox fills, and the next
    # connection that does get a PCB is freed on accept_function's "mailbox
    # full" path, where 2.1+ with LWIP_NETCONN_FULLDUPLEX=1 asserts "netconn
    # marked closed" in netconn_drain() (seen on port/opts/small, 8 PCBs;
    # the same assert as test_accept_queue_overflow_when_the_server_falls_behind).
    ("test_churn.py::test_clients_that_vanish_are_cleaned_up_by_lwip",
     "finding: MEMP_NUM_TCP_PCB < 32 with LWIP_NETCONN_FULLDUPLEX=1 (lwIP >= 2.1): "
     "out-of-PCB markers fill the accept mailbox and lwIP asserts 'netconn marked closed'",
     lambda o: o["MEMP_NUM_TCP_PCB"] < 32 and o["LWIP_NETCONN_FULLDUPLEX"]
     and o["LWIP_VERSION"] >= (2, 1, 0)),
    # Without SACK the test checks that 10 MiB either completes or wedges in
    # the host's retransmission backoff (lwIP 2.0.x's case). With a window of
    # a few segments neither happens within the bound: every lost segment
    # costs one host RTO (no three duplicate ACKs from a window of four) and
    # the RTT samples in between reset the backoff, so the transfer crawls
    # (small: stalls of 0.8 s that do not grow; about 1000 losses; both
    # ways: done in 150 s in one run, not in the next).
    ("test_faults.py::test_tcp_10mib_under_5pct_loss_",
     "TCP_WND < 8*TCP_MSS and LWIP_TCP_SACK_OUT=0: 10 MiB at 5 % loss crawls by one host "
     "timeout per lost segment, neither done nor backing off in the test's bound",
     lambda o: o["TCP_WND"] < 8 * o["TCP_MSS"] and not o.get("LWIP_TCP_SACK_OUT", 0)),
)


def profile_facts():
    """What PROFILE_NEEDS's predicates read: the lwIP options of the build
    under test, LWIP_VERSION and LWIPPOOLS_H."""
    facts = dict(harness.lwip_options())
    # "lwIP 2.1.3 (TREE)" and "lwipopts: DIR" (absolute) in lwipd --version
    for line in harness.run([harness.LWIPD, "--version"]).stdout.splitlines():
        m = re.match(r"lwIP (\d+)\.(\d+)\.(\d+) ", line)
        if m:
            facts["LWIP_VERSION"] = tuple(int(x) for x in m.groups())
        elif line.startswith("lwipopts: "):
            facts["LWIPPOOLS_H"] = os.path.exists(os.path.join(line[10:], "lwippools.h"))
    return facts


# What CI runs on the other lwipopts.h profiles (scripts/test --lwipopts,
# after the version matrix): about 90 s of the suite's main paths on a quiet
# machine: bringup, the TCP echo, iperf3 TCP both ways and UDP, the churn
# server's stuck-slot check, DHCP, link down/up and flaps during a
# transfer, lost ARP replies and one ISR scenario. pytest --profile-subset
# selects them (node id prefixes).
PROFILE_SUBSET = (
    "test_bringup.py::test_ping_100_no_loss",
    "test_bringup.py::test_ready_line_and_status",
    "test_apps.py::test_tcp_echo_1mib_byte_for_byte",
    "test_iperf3.py::test_basic_tcp_receive",
    "test_iperf3.py::test_reverse_fin_not_rst_repeated",
    "test_iperf3.py::test_udp_receive[args1]",
    "test_churn.py::test_serialize_keeps_closes_out_of_select",
    "test_dhcp.py",
    "test_link.py::test_link_down_up_carrier_and_garp",
    "test_faults.py::test_link_flap_during_transfer_matches_host_view",
    "test_faults.py::test_arp_replies_dropped_then_cleared",
    "test_isr.py::test_fixed_configurations_run_clean[callback]",
)


def pytest_addoption(parser):
    parser.addoption("--version-matrix", action="store_true",
                     help="only the tests of the lwIP version matrix (VERSION_MATRIX in "
                     "tests/integration/conftest.py)")
    parser.addoption("--sanitizer-subset", action="store_true",
                     help="leave out the tests in SANITIZER_SKIP (tests/integration/conftest.py)")
    parser.addoption("--profile-subset", action="store_true",
                     help="only the tests CI runs on other lwipopts.h profiles (PROFILE_SUBSET "
                     "in tests/integration/conftest.py)")


def _profile_skips(items):
    """Mark the tests PROFILE_NEEDS rules out for this build as skipped,
    with the rule's reason."""
    facts = profile_facts()
    rules = [(prefix, reason) for prefix, reason, needs in PROFILE_NEEDS if needs(facts)]
    for item in items:
        nodeid = item.nodeid.split("tests/integration/", 1)[-1]
        for prefix, reason in rules:
            if nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason="profile: " + reason))
                break


def pytest_collection_modifyitems(config, items):
    matrix = config.getoption("--version-matrix")
    subset = config.getoption("--sanitizer-subset")
    profile = config.getoption("--profile-subset")
    if matrix or subset or profile:
        keep, drop = [], []
        for item in items:
            nodeid = item.nodeid.split("tests/integration/", 1)[-1]
            ok = (not matrix or nodeid.startswith(VERSION_MATRIX)) and \
                not (subset and nodeid.startswith(SANITIZER_SKIP)) and \
                (not profile or nodeid.startswith(PROFILE_SUBSET))
            (keep if ok else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if items:
        _profile_skips(items)


# What ASan, UBSan and LSan print: any of these in a log fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def pytest_configure(config):
    # Every lwipd a test stops leaves a stats snapshot beside its log and
    # capture (kept when the test fails).
    harness.Lwipd.snapshot_at_stop = True
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests need root (network namespaces, TAPs)")
    for binary in (harness.LWIPD, harness.LWIPCTL):
        if not os.access(binary, os.X_OK):
            raise pytest.UsageError("%s is missing: build first (scripts/test does)" % binary)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    node = request.node
    return any(getattr(node, "rep_" + w, None) is not None and getattr(node, "rep_" + w).failed
               for w in ("setup", "call"))


@pytest.fixture
def workdir(request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    path = os.path.join(ARTIFACTS, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    yield path
    if not _failed(request) and not getattr(request.node, "keep_artifacts", False):
        shutil.rmtree(path, ignore_errors=True)


def _teardown_daemons(request, daemons, strict):
    """Check and stop DAEMONS (harness.Lwipd) at the end of a test. Every one
    is stopped gracefully first (a stats snapshot, then SIGTERM: Lwipd.stop())
    and only then are failures reported, so that a failing check never leaves
    lwipd to the namespace's SIGKILL. Returns the messages of the failed
    checks (none are added to a test that failed already).

    STRICT (lwipd_factory's daemons): a non-zero exit fails the test even if
    the test stopped lwipd itself. Otherwise (lwipd a test made with
    harness.Lwipd or harness.Storm) the test owns the exit code it collected
    with stop() or wait(), and the teardown checks the others: what it stops
    itself and what died unnoticed. Sanitizer reports count either way,
    except from a daemon a test made crash on purpose (expect_failure)."""
    failed = _failed(request)
    errors = []
    for d in daemons:
        if d.torn_down or d.proc is None:
            continue
        d.torn_down = True
        running = d.alive()
        collected = d.returncode is not None  # by the test: stop() or wait()
        # Every scenario ends with lwIP's pools and heap back where they
        # were at ready (lwIP's own TIME_WAIT and closing state excused) and
        # every socket slot usable again (`leaks` checks them on every lwIP
        # version: the table on >= 2.1, the probe on 2.0.x).
        if not failed and running and d.check_leaks and not d.expect_failure:
            try:
                clean, rep = d.wait_leaks_clean()
            except (OSError, EOFError, ValueError, harness.HarnessError) as e:
                clean, rep = False, {"error": "%s: %s" % (type(e).__name__, e)}
            if not clean:
                path = os.path.join(d.workdir, "leaks-%d.json" % d.pid)
                with open(path, "w") as f:
                    json.dump(rep, f, indent=1)
                stuck = rep.get("leaked", {}).get("stuck_socket_slots")
                errors.append("lwipd (pid %s) did not return to its leak baseline: %s%s; see %s" % (
                    d.pid, json.dumps(rep.get("leaked", rep.get("error"))),
                    "; stuck socket slots (fd): %s (%s)" % (
                        stuck, rep["sockets"].get("cause")) if stuck else "", path))
        code = d.stop()
        if running and d.snapshot_error:
            print("lwipd (pid %s): stats snapshot failed: %s" % (d.pid, d.snapshot_error))
        log = d.read_log() + d.read_valgrind_log()
        reports = [m for m in SANITIZER_MARKS if m in log]
        if code == harness.VALGRIND_EXIT and harness.VALGRIND:
            errors.append("lwipd (pid %s): valgrind found errors; see %s" % (
                d.pid, d.valgrind_log))
        elif reports and (strict or not d.expect_failure):
            errors.append("lwipd (pid %s) printed sanitizer reports %s; log: %s" % (
                d.pid, reports, d.log))
        if code not in (0, None) and not d.expect_failure and (strict or not collected):
            errors.append("lwipd (pid %s) exited with %s at teardown; log: %s" % (
                d.pid, code, d.log))
    return [] if failed else errors


def _keep_and_report(request, daemons, errors):
    """After a failure (the test's or the teardown's): keep the workdirs and
    print where the evidence is."""
    if not (_failed(request) or errors):
        return
    request.node.keep_artifacts = True
    dirs = set()
    for d in daemons:
        if d.proc is None:
            continue
        dirs.add(d.workdir)
        print("\nlwipd (pid %s, exit %s): %s" % (d.pid, d.returncode, ", ".join(
            "%s %s" % kv for kv in sorted(d.artifacts().items()))))
    for w in sorted(dirs):
        _write_report(request, w, [d for d in daemons if d.workdir == w])
        print("artifacts kept in %s: %s" % (w, ", ".join(sorted(os.listdir(w)))))


REPORT_TIMEOUT = 120  # s: a report of a run with a big capture takes seconds


def _write_report(request, workdir, daemons):
    """report.html beside a failed test's artifacts (lwipd-report). Never
    raises: a report that cannot be made is a line in the output, not a
    failure hiding the test's own."""
    done = request.node.__dict__.setdefault("reports_written", set())
    if workdir in done:  # the netns and lwipd_factory fixtures both keep
        return
    done.add(workdir)
    out = os.path.join(workdir, "report.html")
    command = " ".join(["lwipd"] + list(daemons[0].args)) if daemons else None
    cmd = [harness.PYTHON, harness.REPORT, workdir, "-o", out,
           "--title", request.node.nodeid, "--verdict", "failed"]
    if command:
        cmd += ["--command", command]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=REPORT_TIMEOUT)
        if r.returncode != 0:
            print("report: lwipd-report exited %d: %s" % (r.returncode, r.stderr.strip()[-500:]))
    except (OSError, subprocess.SubprocessError) as e:
        print("report: lwipd-report failed: %s" % e)


@pytest.fixture
def netns(request, workdir):
    """A fresh namespace with a TAP. At teardown, every lwipd started in it
    that is not a lwipd_factory's (a test's own harness.Lwipd or
    harness.Storm) is checked and stopped as _teardown_daemons() says, before
    the namespace is deleted. (It takes workdir so that it is torn down
    before workdir is, which keeps the artifacts of a failed check.)"""
    ns = harness.Netns()
    errors = []
    try:
        ns.create()
        yield ns
        own = [d for d in ns.daemons if not d.torn_down]  # not lwipd_factory's
        errors = _teardown_daemons(request, own, strict=False)
        _keep_and_report(request, own, errors)
    finally:
        left = ns.delete()
    # Every test stops what it started; a process still running in its
    # namespace at the end is a bug of the test (it has been killed now).
    if left and not _failed(request):
        request.node.keep_artifacts = True
        errors.append("processes left running in %s: %s" % (ns.name, left))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def lwipd_factory(request, netns, workdir):
    """Start lwipd with extra arguments; every one started is checked and
    stopped at teardown (_teardown_daemons(), strict)."""
    started = []

    def start(*extra_args, **kw):
        d = harness.Lwipd(netns, workdir, extra_args=extra_args, **kw)
        started.append(d)
        return d.start()

    yield start
    errors = _teardown_daemons(request, started, strict=True)
    _keep_and_report(request, started, errors)
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def lwipd(lwipd_factory):
    return lwipd_factory()
