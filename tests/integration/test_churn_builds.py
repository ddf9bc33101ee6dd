# SPDX-License-Identifier: MIT
"""Churn scenarios that need their own build of lwipd, made once in a
temporary directory against the lwIP tree and lwipopts.h of the build under test:
LWIP_NETCONN_FULLDUPLEX=0 (the reuse race of lwIP >= 2.1) and allocation-site
tracking (-Dalloc_track: a leak report names the function holding the
pbufs)."""
import os
import shutil

import pytest

from lwipd import testing as harness
from lwipd.churn import churn, churn_stats, probe, quiet, record_outcome
from lwipd.testing import lwip_version

BUILD_OPTS = ["-Dnetconn_fullduplex=false", "-Dalloc_track=true", "-Dtests=disabled"]


@pytest.fixture(scope="module")
def special_lwipd(tmp_path_factory):
    """lwipd built with FULLDUPLEX=0 and allocation tracking; path to it."""
    b = str(tmp_path_factory.mktemp("special") / "b")
    r = harness.run(["meson", "setup", b] + harness.tree_opts() + BUILD_OPTS, cwd=harness.TOP,
                    timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    r = harness.run(["ninja", "-C", b, "daemon/lwipd"], timeout=900, check=False)
    assert r.returncode == 0, r.stdout[-3000:]
    yield os.path.join(b, "daemon", "lwipd")
    shutil.rmtree(b, ignore_errors=True)


def start(netns, workdir, binary, *args):
    d = harness.Lwipd(netns, workdir, extra_args=args, binary=binary)
    d.start()
    return d


def test_wrong_free_names_the_allocating_function(netns, workdir, special_lwipd):
    d = start(netns, workdir, special_lwipd, "--test-hooks")
    try:
        rep = d.request({"cmd": "leaks"})
        assert rep["tracking"]["enabled"] is True and rep["tracking"]["overflow"] == 0, rep
        r = d.request({"cmd": "test-wrong-free"})
        assert r["ok"] and r["chain"] >= 2, r
        rep = d.request({"cmd": "leaks"})
        assert rep["leaked"] == {"PBUF_POOL": 1}, rep["leaked"]
        sites = rep["sites"]["PBUF_POOL"]
        culprit = [s for s in sites if s["function"] == "testhooks_pbuf_wrong_free"]
        assert culprit and culprit[0]["count"] == 1, sites
        assert culprit[0]["file"] == "apps/testhooks.c" and culprit[0]["line"] > 0, culprit
    finally:
        assert d.stop() == 0


def test_fullduplex0_select_close_race(netns, workdir, special_lwipd):
    """With LWIP_NETCONN_FULLDUPLEX=0 nothing pins a closed socket while a
    select() still waits on it: lwIP >= 2.1 may hand its slot to the next
    accept() and its alloc_socket() asserts "sockets[i].select_waiting == 0";
    if that never happens in this run, everything must be clean. lwIP 2.0.x
    does not reuse such a slot: it strands it (stuck slots, ENFILE). The
    outcome is recorded (test-artifacts/churn-outcomes.json)."""
    d = start(netns, workdir, special_lwipd, "--churn", "--churn-close",
              "idle=5,requests=1,random=50", "--churn-select-ms", "2")
    version = lwip_version(d)
    assert d.request({"cmd": "version"})["build"]["options"]["LWIP_NETCONN_FULLDUPLEX"] == 0
    res = churn(netns, d, 20000, time_s=10, timeout_ms=2000)
    if not d.alive():
        d.expect_failure = True
        d.wait(timeout=10)
        log = d.read_log()
        outcome = "assert"
        assert version >= (2, 1, 0), log[-2000:]
        assert "lwip-assert: sockets[i].select_waiting == 0" in log, log[-3000:]
        assert d.returncode != 0
    else:
        quiet(d)
        st, p = churn_stats(d), probe(d)
        if version < (2, 1, 0):
            outcome = "stuck"
            assert p["stuck"] and "select_waiting" in p["cause"], p
            assert st["accept_fail"].get("ENFILE", 0) > 0, st
            rep = d.request({"cmd": "leaks"}, timeout=30)
            assert sorted(rep["leaked"]["stuck_socket_slots"]) == sorted(p["stuck"]), rep
        else:
            outcome = "clean"
            assert st["closes_during_select"] > 0 and p["stuck"] == [], (st, p)
            assert d.request({"cmd": "leaks"})["clean"] is True
    record_outcome("LWIP_NETCONN_FULLDUPLEX=0 select/close race", version, outcome,
                   {k: res[k] for k in ("ok", "failed", "seconds")})
    d.stop()
