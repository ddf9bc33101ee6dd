# SPDX-License-Identifier: MIT
"""The lwipd pytest plugin from the source tree (-p lwipd.pytest_plugin,
PYTHONPATH=python): the marker's refusals, per-test addresses, the
command-line options, the control errors, events, link and iperf3 on the
fixture; and lwipd.Namespace / lwipd.Daemon as context managers without
pytest."""
import json
import os
import subprocess

from lwipd import testing as harness

USER_TESTS = '''
import json
import os

import pytest

import lwipd as pkg


def record(d):
    with open(os.path.join(os.environ["OUT"], d.ns.name), "w") as f:
        json.dump({"address": d.address, "host": d.host_address,
                   "seed": d.status()["seed"]}, f)


def test_one(lwipd):
    record(lwipd)


def test_two(lwipd):
    record(lwipd)
    with pytest.raises(pkg.ControlError) as e:
        lwipd.ctl("fault", op="add", rule="sideways drop 5%")
    assert e.value.answer["ok"] is False
    assert lwipd.fault('rx drop 1% "icmp"') == 1
    lwipd.link(False)
    lwipd.link(True)
    assert [e["state"] for e in lwipd.events("link")][-2:] == ["down", "up"]
    lwipd.wait_for(lambda: lwipd.status()["lwip_link_up"], 5, "the link up")
    j = lwipd.iperf3("-t", "1")
    assert j["end"]["sum_received"]["bytes"] > 0
'''


def source_pytest(tmp_path, *args):
    """pytest on the plugin from this tree, in TMP_PATH."""
    env = dict(os.environ, PYTHONPATH=os.path.join(harness.TOP, "python"), OUT=str(tmp_path),
               LWIPD_BUILD=harness.BUILD)
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "lwipd.pytest_plugin",
                           "--lwipd-artifacts", str(tmp_path / "art")] + list(args),
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)


LWIPOPTS_TESTS = '''
import pytest


@pytest.mark.lwipd(lwipopts=%r)
def test_small(lwipd):
    opts = lwipd.ctl("version")["build"]["options"]
    assert opts["TCP_MSS"] == 536 and opts["PBUF_POOL_SIZE"] == 16, opts


@pytest.mark.lwipd(lwipopts="nowhere")
def test_missing(lwipd):
    pass
'''


def test_marker_lwipopts_builds_lwipd_with_them(tmp_path):
    """lwipopts=DIR: the test's lwipd is built with DIR/lwipopts.h (the
    small profile: the variant test_build.py makes too); a directory
    without one fails that test, naming it."""
    small = os.path.join(harness.TOP, "port", "opts", "small")
    (tmp_path / "test_o.py").write_text(LWIPOPTS_TESTS % small)
    r = source_pytest(tmp_path, "-rA", "test_o.py")
    assert r.returncode == 1, r.stdout + r.stderr  # one test did not pass
    assert "PASSED test_o.py::test_small" in r.stdout, r.stdout
    # (a setup error: the fixture could not make that lwipd)
    assert "ERROR test_o.py::test_missing" in r.stdout, r.stdout
    assert "lwipopts=%s: there is no lwipopts.h in that directory" % (
        tmp_path / "nowhere") in r.stdout, r.stdout


def test_marker_lwipopts_without_a_build_is_a_usage_error(tmp_path):
    (tmp_path / "test_m.py").write_text(
        "import pytest\n\n\n@pytest.mark.lwipd(lwipopts='my/opts')\n"
        "def test_x(lwipd):\n    pass\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(harness.TOP, "python"))
    env.pop("LWIPD_BUILD", None)
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "lwipd.pytest_plugin", "--lwipd-binary", harness.LWIPD,
                        "test_m.py"], cwd=str(tmp_path), env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error
    assert "set LWIPD_BUILD to a build directory" in r.stderr, r.stderr


def test_each_test_gets_its_own_addresses_and_the_run_options(tmp_path):
    (tmp_path / "test_u.py").write_text(USER_TESTS)
    r = source_pytest(tmp_path, "--lwipd-args", "--seed 9", "test_u.py")
    assert r.returncode == 0, r.stdout + r.stderr
    seen = [json.load(open(tmp_path / n)) for n in os.listdir(tmp_path)
            if n.startswith("lwipd-t")]
    assert len(seen) == 2 and seen[0]["address"] != seen[1]["address"], seen
    for s in seen:
        harness.check_safe(s["address"])
        assert s["host"].rsplit(".", 1)[0] == s["address"].rsplit(".", 1)[0]
        assert s["seed"] == "9", s


SCRIPT = '''
import json, sys
import lwipd
with lwipd.Namespace() as ns:
    with lwipd.Daemon(ns) as d:
        st = d.ctl("status")
    print(json.dumps({"ns": ns.name, "ip": st["ip"], "exit": d.returncode,
                      "workdir": d.workdir}))
'''


def test_namespace_and_daemon_without_pytest():
    env = dict(os.environ, PYTHONPATH=os.path.join(harness.TOP, "python"),
               LWIPD_BUILD=harness.BUILD)
    r = subprocess.run(["/usr/bin/python3", "-c", SCRIPT], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ip"] == harness.LWIP_IP and out["exit"] == 0, out
    assert out["ns"] not in harness.run(["ip", "netns", "list"]).stdout
    assert os.path.exists(os.path.join(out["workdir"], "lwipd.log"))
    harness.run(["rm", "-rf", out["workdir"]])
