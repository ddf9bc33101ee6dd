# SPDX-License-Identifier: MIT
"""The lwipd pytest plugin: a fresh network namespace with a TAP and a
ready lwipd per test, checked at teardown.

Installed with lwipd (meson install), pytest finds it through the pytest11
entry point; from a source tree, `pytest_plugins = ["lwipd.pytest_plugin"]`
in a conftest.py loads it. doc/testing.md describes the fixtures, the
marker, the options and what teardown checks:

    @pytest.mark.lwipd(args=["--seed", "7"])
    def test_echo(lwipd):
        lwipd.fault('rx drop 20% "tcp"')
        ...

Fixtures: lwipd (a started, ready Daemon), lwipd_factory (start more, or
with other arguments), lwipd_netns (the Namespace), lwipd_workdir (the
test's artifact directory: kept, and its path printed, when the test or a
teardown check fails)."""
import json
import os
import re
import shlex
import shutil
import subprocess

import pytest

from . import config as settings
from .config import PYTHON, VALGRIND, VALGRIND_EXIT, LwipdError
from .daemon import Daemon
from .testing import lwipopts_build
from .netns import Namespace, unique_subnet

# What ASan, UBSan, LSan and TSan print: any of these in a log fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")
# lwipd's incident headline (an lwIP assert is "FATAL lwip-assert: ..."):
# fails the test unless the test made lwipd stop on purpose (expect_failure)
# or judged the exit itself (a Daemon it made and stopped or waited for).
FATAL_MARKS = ("lwipd: FATAL ",)
REPORT_TIMEOUT = 120  # s: a report of a run with a big capture takes seconds
_MARKER_KEYS = ("args", "lwipopts", "app", "pcap")


def pytest_addoption(parser):
    group = parser.getgroup("lwipd", "lwipd scenarios (the lwipd fixture)")
    group.addoption("--lwipd-binary", metavar="PATH",
                    help="the lwipd to test (default: $LWIPD_BUILD/daemon/lwipd, else lwipd "
                    "on PATH)")
    group.addoption("--lwipd-args", metavar="ARGS", default="",
                    help="extra arguments for every lwipd the fixtures start (one string, "
                    "shell words)")
    group.addoption("--lwipd-artifacts", metavar="DIR",
                    help="where a failed test's artifacts are kept (default: $LWIPD_ARTIFACTS, "
                    "else BUILD/test-artifacts, else /tmp/lwipd-artifacts)")
    group.addoption("--lwipd-addresses", choices=("unique", "fixed"), default=None,
                    help="unique (default): a /24 of 198.18.0.0/15 per test; fixed: "
                    "198.18.0.1 (host) and 198.18.0.2 (lwIP) for every test")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lwipd(args=[...], app=None, pcap=True, lwipopts=None): how the lwipd "
        "fixture starts lwipd for this test")
    binary = config.getoption("--lwipd-binary")
    if binary:
        # lwipctl from beside the binary when it is there (a build or an
        # install), else by the usual search.
        ctl = os.path.join(os.path.dirname(os.path.abspath(binary)), "lwipctl")
        settings.configure(lwipd=binary, lwipctl=ctl if os.path.exists(ctl) else None)
    settings.configure(artifacts=config.getoption("--lwipd-artifacts"))
    # Every lwipd a test stops leaves a stats snapshot beside its log.
    Daemon.snapshot_at_stop = True


def pytest_collection_modifyitems(config, items):
    for item in items:
        for mark in item.iter_markers("lwipd"):
            _check_marker(item, mark)


def _check_marker(item, mark):
    """Refuse a marker this build cannot honour, with what to do instead."""
    unknown = set(mark.kwargs) - set(_MARKER_KEYS)
    if mark.args or unknown:
        raise pytest.UsageError("%s: @pytest.mark.lwipd takes only the keywords %s" % (
            item.nodeid, ", ".join(_MARKER_KEYS)))
    if mark.kwargs.get("lwipopts") is not None and not settings.build_dir():
        raise pytest.UsageError(
            "%s: @pytest.mark.lwipd(lwipopts=...) builds lwipd with that lwipopts.h from "
            "lwipd's source tree: set LWIPD_BUILD to a build directory of it (an installed "
            "lwipd cannot be rebuilt)" % item.nodeid)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "lwipd_rep_" + rep.when, rep)


def failed(node):
    """Whether NODE's setup or call failed so far."""
    return any(getattr(getattr(node, "lwipd_rep_" + w, None), "failed", False)
               for w in ("setup", "call"))


# ---- fixtures -------------------------------------------------------------------

@pytest.fixture
def lwipd_workdir(request):
    """The test's own directory for logs, captures and reports, under the
    artifacts directory; removed after a passing test, kept (and printed)
    after a failure."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    path = os.path.join(settings.artifacts_dir(), name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    yield path
    if not failed(request.node) and not getattr(request.node, "keep_artifacts", False):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def lwipd_netns(request, lwipd_workdir):
    """A fresh namespace with a TAP. At teardown every lwipd started in it
    that is not lwipd_factory's (one a test made itself with Daemon) is
    checked and stopped (teardown_daemons()), then the namespace is deleted
    and a process still running in it fails the test."""
    if os.geteuid() != 0:
        pytest.fail("lwipd tests need root (network namespaces, TAPs)", pytrace=False)
    if request.config.getoption("--lwipd-addresses") == "fixed":
        ns = Namespace()
    else:
        ns = Namespace(host_cidr=unique_subnet()[0] + "/24")
    errors = []
    try:
        ns.create()
        yield ns
        own = [d for d in ns.daemons if not d.torn_down]  # not lwipd_factory's
        errors = teardown_daemons(request, own, strict=False)
        keep_and_report(request, own, errors)
    finally:
        left = ns.delete()
    # Every test stops what it started; a process still running in its
    # namespace at the end is a bug of the test (it has been killed now).
    if left and not failed(request.node):
        request.node.keep_artifacts = True
        errors.append("processes left running in %s: %s; artifacts: %s" % (
            ns.name, left, lwipd_workdir))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def lwipd_factory(request, lwipd_netns, lwipd_workdir):
    """start(*args, **kw): start one more lwipd in the test's namespace
    (Daemon's keywords: ip, pcap, binary, env, wrapper), with --lwipd-args
    added; returns it ready. Every one is checked and stopped at teardown
    (strict: any non-zero exit fails the test)."""
    started = []
    extra = shlex.split(request.config.getoption("--lwipd-args") or "")

    def start(*args, **kw):
        try:
            d = Daemon(lwipd_netns, lwipd_workdir, extra_args=list(args) + extra, **kw)
        except LwipdError as e:
            pytest.fail(str(e), pytrace=False)
        started.append(d)
        return d.start()

    yield start
    errors = teardown_daemons(request, started, strict=True)
    keep_and_report(request, started, errors)
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def lwipd(request, lwipd_factory):
    """A ready lwipd in a fresh namespace, started with the test's
    @pytest.mark.lwipd(args=...), app="PATH[:ARGS]" (or a list of them:
    --app each, with --app-required, so an app whose start() fails fails
    the test), pcap=False to run without a capture and lwipopts="DIR"
    (relative to the test's file) to run an lwipd built with DIR/lwipopts.h
    (testing.lwipopts_build())."""
    mark = request.node.get_closest_marker("lwipd")
    kw = mark.kwargs if mark else {}
    extra = {"pcap": kw["pcap"]} if "pcap" in kw else {}
    if kw.get("lwipopts") is not None:
        # A directory holding lwipopts.h, relative to the test's file.
        opts = os.path.join(os.path.dirname(str(request.node.fspath)), kw["lwipopts"])
        try:
            extra["binary"] = lwipopts_build(opts)
        except LwipdError as e:
            pytest.fail(str(e), pytrace=False)
    args = list(kw.get("args", ()))
    apps = kw.get("app") or []
    for app in [apps] if isinstance(apps, str) else apps:
        args += ["--app", app]
    if apps:
        args.append("--app-required")
    return lwipd_factory(*args, **extra)


# ---- teardown ---------------------------------------------------------------------

def _scan_log(d, strict, collected):
    """The failure messages D's log (and valgrind's) calls for: STRICT and
    COLLECTED as for the exit code (teardown_daemons())."""
    log = d.read_log() + d.read_valgrind_log()
    out = []
    if d.returncode == VALGRIND_EXIT and VALGRIND:
        out.append("lwipd (pid %s): valgrind found errors; see %s" % (d.pid, d.valgrind_log))
        return out
    reports = [m for m in SANITIZER_MARKS if m in log]
    if reports and (strict or not d.expect_failure):
        out.append("lwipd (pid %s) printed sanitizer reports %s; log: %s" % (
            d.pid, reports, d.log))
    fatal = [line for line in log.splitlines() if line.startswith(FATAL_MARKS)]
    if fatal and not d.expect_failure and (strict or not collected):
        out.append("lwipd (pid %s): %s; log: %s" % (d.pid, fatal[0], d.log))
    return out


def _check_leaks(d):
    """The leak check against the ready baseline: a message, or None."""
    try:
        clean, rep = d.wait_leaks_clean()
    except (OSError, EOFError, ValueError, LwipdError) as e:
        clean, rep = False, {"error": "%s: %s" % (type(e).__name__, e)}
    if clean:
        return None
    path = os.path.join(d.workdir, "leaks-%d.json" % d.pid)
    with open(path, "w") as f:
        json.dump(rep, f, indent=1)
    stuck = rep.get("leaked", {}).get("stuck_socket_slots")
    return "lwipd (pid %s) did not return to its leak baseline: %s%s; see %s" % (
        d.pid, json.dumps(rep.get("leaked", rep.get("error"))),
        "; stuck socket slots (fd): %s (%s)" % (
            stuck, rep["sockets"].get("cause")) if stuck else "", path)


def _save_events(d):
    """events-PID.json in the workdir: the daemon's recent events."""
    try:
        evs = d.request({"cmd": "events", "count": 1000}, timeout=3)
        with open(os.path.join(d.workdir, "events-%d.json" % d.pid), "w") as f:
            json.dump(evs.get("events", evs), f, indent=1)
    except (OSError, EOFError, ValueError):
        pass


def teardown_daemons(request, daemons, strict):
    """Check and stop DAEMONS at the end of a test. Every one is stopped
    gracefully first (a stats snapshot, then SIGTERM: Daemon.stop()) and
    only then are failures reported, so that a failing check never leaves
    lwipd to the namespace's SIGKILL. Returns the messages of the failed
    checks (none are added to a test that failed already).

    STRICT (lwipd_factory's daemons): a non-zero exit fails the test even if
    the test stopped lwipd itself. Otherwise (a Daemon the test made) the
    test owns the exit code it collected with stop() or wait(), and the
    teardown checks the others. Sanitizer reports count either way, except
    from a daemon a test made crash on purpose (expect_failure)."""
    was_failed = failed(request.node)
    errors = []
    for d in daemons:
        if d.torn_down or d.proc is None:
            continue
        d.torn_down = True
        running = d.alive()
        collected = d.returncode is not None  # by the test: stop() or wait()
        # Every scenario ends with lwIP's pools and heap back where they
        # were at ready (lwIP's own TIME_WAIT and closing state excused) and
        # every socket slot usable again.
        if not was_failed and running and d.check_leaks and not d.expect_failure:
            msg = _check_leaks(d)
            if msg:
                errors.append(msg)
        if running:
            _save_events(d)
        code = d.stop()
        if running and d.snapshot_error:
            print("lwipd (pid %s): stats snapshot failed: %s" % (d.pid, d.snapshot_error))
        errors += _scan_log(d, strict, collected)
        if code not in (0, None) and not d.expect_failure and (strict or not collected):
            errors.append("lwipd (pid %s) exited with %s at teardown; log: %s" % (
                d.pid, code, d.log))
    return [] if was_failed else errors


def keep_and_report(request, daemons, errors):
    """After a failure (the test's or the teardown's): keep the workdirs,
    write report.html there and print where the evidence is."""
    if not (failed(request.node) or errors):
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
        print("lwipd artifacts kept in %s: %s" % (w, ", ".join(sorted(os.listdir(w)))))
    if errors and dirs:
        errors.append("artifacts kept in %s" % ", ".join(sorted(dirs)))


def _report_tool():
    """lwipd-report: the installed one, else the build's source tree's."""
    found = shutil.which("lwipd-report")
    if found:
        return found
    try:
        top = settings.source_dir()
    except LwipdError:
        top = None
    path = os.path.join(top, "tools", "lwipd-report") if top else None
    return path if path and os.path.exists(path) else None


def _write_report(request, workdir, daemons):
    """report.html beside a failed test's artifacts (lwipd-report). Never
    raises: a report that cannot be made is a line in the output, not a
    failure hiding the test's own."""
    done = request.node.__dict__.setdefault("lwipd_reports_written", set())
    if workdir in done:  # the netns and factory fixtures both keep
        return
    done.add(workdir)
    tool = _report_tool()
    if not tool:
        print("report: lwipd-report not found; no report.html")
        return
    out = os.path.join(workdir, "report.html")
    cmd = [PYTHON, tool, workdir, "-o", out, "--title", request.node.nodeid,
           "--verdict", "failed"]
    if daemons:
        cmd += ["--command", " ".join(["lwipd"] + list(daemons[0].args))]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=REPORT_TIMEOUT)
        if r.returncode != 0:
            print("report: lwipd-report exited %d: %s" % (r.returncode, r.stderr.strip()[-500:]))
    except (OSError, subprocess.SubprocessError) as e:
        print("report: lwipd-report failed: %s" % e)
