# SPDX-License-Identifier: MIT
"""The project's integration suite on the lwipd package's pytest plugin
(python/lwipd/pytest_plugin.py: the fixtures lwipd, lwipd_factory,
lwipd_netns and lwipd_workdir, the teardown checks, the artifacts kept on
failure). Here: the suite's selections (--version-matrix,
--sanitizer-subset), its fixed addresses, its own helper scripts, and the
short fixture names its tests use (netns, workdir, host_server)."""
import os
import re
import sys

import pytest

# The package from this source tree, ahead of an installed one.
PYTHON_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "python")
sys.path.insert(0, PYTHON_DIR)
# An installed lwipd's pytest11 entry point has loaded its plugin before
# this file (unless -p no:lwipd): then that package is the one in use.
INSTALLED_PLUGIN = "lwipd.pytest_plugin" in sys.modules
from lwipd import testing as harness  # noqa: E402

if not INSTALLED_PLUGIN:
    pytest_plugins = ["lwipd.pytest_plugin"]

harness.HELPER_DIRS.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))


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
    "test_iperf3_udp_sizes.py",         # ip4_frag/ip4_reass at iperf3's datagram sizes
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
    "test_scenarios_installed.py",  # the examples: ARP, a cable pull, churn, a seed, as above
    # lwIP heap variants of the ISR scenarios (a sanitized build each, 40-80 s):
    # the ISR, the checker and the frees run sanitized in the default build's
    # scenarios (callback, task, posix, detection); the variants change lwIP's
    # heap options, which the normal build and the version matrix cover.
    "test_isr.py::test_libc_heap_reentry_is_detected",
    "test_isr.py::test_rtos_heap_is_not_saved_by_allow_flag",
    "test_isr.py::test_lwip_mem_sanity_check_races_legal_isr_frees",
    "test_isr.py::test_fixed_configurations_run_clean[allow-isr]",
    "test_isr.py::test_fixed_configurations_run_clean[pools-isr]",
    "test_build.py::test_small_mcu_profile_builds_and_runs",  # a build; profiles run in CI
    # 10 MiB through lwIP's RTO back-off (60 s): the drop rules and TCP's
    # recovery run sanitized in test_faults' other loss tests.
    "test_faults.py::test_tcp_10mib_under_5pct_loss_both_ways",
    # Tests that build a sanitized variant of their own (60-90 s each): lwIP's
    # apps (the glue ran clean under ASan+UBSan when it was merged) and the
    # MQTT example on them; the small profile's refusal of UDP lengths and
    # the marker's lwipopts= (the iperf3 parameters and the plugin are Python
    # and C the rest of this pass runs).
    "test_lwip_apps.py",
    "test_app_mqtt.py",
    "test_iperf3_udp_sizes.py::test_small_build_refuses_what_it_cannot_carry",
    "test_pytest_plugin.py::test_marker_lwipopts_builds_lwipd_with_them",
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
def off(option):
    """A PROFILE_NEEDS predicate: OPTION is 0 in the build (absent: on)."""
    return lambda o: not o.get(option, 1)


PROFILE_NEEDS = (
    ("", "LWIP_TCP=0: the test speaks TCP to lwIP", off("LWIP_TCP")),
    ("test_apps.py::test_udp_echo", "LWIP_UDP=0: UDP echo", off("LWIP_UDP")),
    ("test_apps.py::test_tcp_and_udp_", "LWIP_UDP=0: UDP discard/chargen",
     off("LWIP_UDP")),
    ("test_iperf3.py::test_udp_", "LWIP_UDP=0: iperf3 over UDP",
     off("LWIP_UDP")),
    ("test_iperf3.py::test_lwip_client_udp", "LWIP_UDP=0: iperf3 over UDP",
     off("LWIP_UDP")),
    ("test_lwip_apps.py", "LWIP_UDP=0: SNTP, mDNS and TFTP run over UDP",
     off("LWIP_UDP")),
    ("test_dhcp.py", "LWIP_DHCP=0: no DHCP client", off("LWIP_DHCP")),
    ("test_robustness.py::test_hostile_dhcp", "LWIP_DHCP=0: no DHCP client",
     off("LWIP_DHCP")),
    ("test_igmp.py", "LWIP_IGMP=0: no multicast groups", off("LWIP_IGMP")),
    ("test_stats.py::test_igmp_", "LWIP_IGMP=0: no IGMP counters",
     off("LWIP_IGMP")),
    ("test_robustness.py::test_hostile_fuzz_every_layer", "LWIP_IGMP=0: the fuzz joins a group",
     off("LWIP_IGMP")),
    ("test_churn.py", "LWIP_SOCKET=0: the churn server uses lwIP's sockets",
     off("LWIP_SOCKET")),
    ("test_churn_builds.py", "LWIP_SOCKET=0: the churn server uses lwIP's sockets",
     off("LWIP_SOCKET")),
    ("test_robustness.py::test_hostile_fragment_storm",
     "IP_REASSEMBLY=0: no reassembly to storm", off("IP_REASSEMBLY")),
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


def pytest_configure(config):
    pkg = os.path.dirname(os.path.abspath(harness.__file__))
    if os.path.dirname(pkg) != PYTHON_DIR:
        raise pytest.UsageError(
            "the lwipd package installed at %s took the place of this tree's (%s): run "
            "with -p no:lwipd so that the suite tests its own harness" % (pkg, PYTHON_DIR))
    # The suite's tests address 198.18.0.1 (host) and 198.18.0.2 (lwIP).
    if config.getoption("--lwipd-addresses") is None:
        config.option.lwipd_addresses = "fixed"
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests need root (network namespaces, TAPs)")
    if not harness.BUILD:
        raise pytest.UsageError("set LWIPD_BUILD to the build directory under test")
    os.environ["LWIPD_BUILD"] = harness.BUILD  # absolute: for commands run elsewhere
    for binary in (harness.LWIPD, harness.LWIPCTL):
        if not os.access(binary, os.X_OK):
            raise pytest.UsageError("%s is missing: build first (scripts/test does)" % binary)


@pytest.fixture
def workdir(lwipd_workdir):
    return lwipd_workdir


@pytest.fixture
def netns(lwipd_netns):
    return lwipd_netns


@pytest.fixture
def host_server(netns):
    """start(): `iperf3 -s -1 -J` on the host side of the TAP, for lwIP's
    iperf3 client; every one started is stopped at teardown."""
    servers = []

    def start():
        servers.append(harness.HostIperf3Server(netns))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()
