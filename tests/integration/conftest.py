# SPDX-License-Identifier: MIT
"""Fixtures: a fresh namespace + TAP per test, lwipd started through its
ready line and stopped at teardown. When a test fails, its artifacts (log,
capture, a stats snapshot) are kept and their paths printed."""
import json
import os
import re
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ARTIFACTS = os.path.abspath(os.environ.get("LWIPD_ARTIFACTS",
                                           os.path.join(harness.BUILD, "test-artifacts")))


# What ASan, UBSan and LSan print: any of these in a log fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def pytest_configure(config):
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


@pytest.fixture
def netns(request):
    ns = harness.Netns()
    try:
        ns.create()
        yield ns
    finally:
        left = ns.delete()
    # Every test stops what it started; a process still running in its
    # namespace at the end is a bug of the test (it has been killed now).
    if left and not _failed(request):
        pytest.fail("processes left running in %s: %s" % (ns.name, left), pytrace=False)


@pytest.fixture
def lwipd_factory(request, netns, workdir):
    """Start lwipd with extra arguments; every one started is stopped."""
    started = []

    def start(*extra_args, **kw):
        d = harness.Lwipd(netns, workdir, extra_args=extra_args, **kw)
        started.append(d)
        return d.start()

    yield start
    failed = _failed(request)
    for d in started:
        # Every scenario ends with lwIP's pools and heap back where they
        # were at ready (lwIP's own TIME_WAIT and closing state excused).
        if not failed and d.alive() and d.check_leaks and not d.expect_failure:
            clean, rep = d.wait_leaks_clean()
            if not clean:
                failed = True
                with open(os.path.join(workdir, "leaks.json"), "w") as f:
                    json.dump(rep, f, indent=1)
                pytest.fail("lwipd (pid %s) did not return to its leak baseline: %s" % (
                    d.pid, json.dumps(rep.get("leaked"))), pytrace=False)
        if failed and d.alive():
            try:
                with open(os.path.join(workdir, "stats.json"), "w") as f:
                    json.dump(d.stats(), f, indent=1)
            except Exception as e:  # the daemon may be the thing that broke
                print("stats snapshot failed: %s" % e)
        code = d.stop()
        log = d.read_log() + d.read_valgrind_log()
        if (code not in (0, None) and not d.expect_failure) or \
                any(m in log for m in SANITIZER_MARKS):
            request.node.keep_artifacts = True  # teardown failures keep them too
        reports = [m for m in SANITIZER_MARKS if m in log]
        if code == harness.VALGRIND_EXIT and harness.VALGRIND and not failed:
            pytest.fail("lwipd (pid %s): valgrind found errors; see %s" % (
                d.pid, d.valgrind_log), pytrace=False)
        if reports and not failed:
            pytest.fail("lwipd (pid %s) printed sanitizer reports %s; log: %s" % (
                d.pid, reports, d.log), pytrace=False)
        if code not in (0, None) and not d.expect_failure and not failed:
            pytest.fail("lwipd (pid %s) exited with %s at teardown; log: %s" % (
                d.pid, code, d.log), pytrace=False)
    if failed:
        print("\nartifacts kept in %s: %s" % (workdir, ", ".join(sorted(os.listdir(workdir)))))


@pytest.fixture
def lwipd(lwipd_factory):
    return lwipd_factory()
