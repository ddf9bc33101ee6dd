# SPDX-License-Identifier: MIT
"""The project's integration suite on the lwipd package's pytest plugin
(python/lwipd/pytest_plugin.py: the fixtures lwipd, lwipd_factory,
lwipd_netns and lwipd_workdir, the teardown checks, the artifacts kept on
failure). Here: the suite's selections (--version-matrix,
--sanitizer-subset), its fixed addresses, its own helper scripts, and the
short fixture names its tests use (netns, workdir, host_server)."""
import os
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
)


def pytest_addoption(parser):
    parser.addoption("--version-matrix", action="store_true",
                     help="only the tests of the lwIP version matrix (VERSION_MATRIX in "
                     "tests/integration/conftest.py)")
    parser.addoption("--sanitizer-subset", action="store_true",
                     help="leave out the tests in SANITIZER_SKIP (tests/integration/conftest.py)")


def pytest_collection_modifyitems(config, items):
    matrix = config.getoption("--version-matrix")
    subset = config.getoption("--sanitizer-subset")
    if not matrix and not subset:
        return
    keep, drop = [], []
    for item in items:
        nodeid = item.nodeid.split("tests/integration/", 1)[-1]
        ok = (not matrix or nodeid.startswith(VERSION_MATRIX)) and \
            not (subset and nodeid.startswith(SANITIZER_SKIP))
        (keep if ok else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


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
