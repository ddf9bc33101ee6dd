# SPDX-License-Identifier: MIT
"""The user's view of the test API: the build installed with `meson install
--destdir`, examples/scenarios copied to a directory outside the source
tree and run with plain /usr/bin/python3 -m pytest, with PYTHONPATH and
PATH pointing into the destdir and no conftest.py, so the plugin comes in
through its pytest11 entry point and the binaries from PATH. A leaking lwIP
fails a user's test with the artifacts named."""
import glob
import json
import os
import re
import shutil
import subprocess

import pytest

from lwipd import testing as harness

EXAMPLES = ("test_arp_loss.py", "test_link_pull_iperf3.py", "test_socket_churn.py",
            "test_fault_seed_replay.py")

LEAKING = '''
import pytest


@pytest.mark.lwipd(args=["--test-hooks"])
def test_a_pbuf_leaks(lwipd):
    assert lwipd.ctl("test-wrong-free")["chain"] >= 2
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """{"env": the environment of a user of the installed build, "dest":
    the destdir}."""
    dest = str(tmp_path_factory.mktemp("destdir"))
    harness.run(["meson", "install", "-C", harness.BUILD, "--destdir", dest, "--quiet"],
                timeout=600)
    prefix = {o["name"]: o["value"] for o in json.loads(harness.run(
        ["meson", "introspect", "--buildoptions", harness.BUILD]).stdout)}["prefix"]
    root = dest + prefix
    infos = glob.glob(os.path.join(root, "lib", "python3*", "*-packages", "lwipd-*.dist-info"))
    assert len(infos) == 1, infos
    with open(os.path.join(infos[0], "entry_points.txt")) as f:
        assert "[pytest11]" in f.read()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LWIPD_", "PYTHON"))}
    env["PYTHONPATH"] = os.path.dirname(infos[0])
    env["PATH"] = "%s/sbin:%s/bin:/usr/sbin:/usr/bin:/sbin:/bin" % (root, root)
    return {"env": env, "dest": dest}


def user_pytest(installed, workdir, *args, timeout=900):
    """/usr/bin/python3 -m pytest ARGS in WORKDIR (outside the tree) as a
    user of the installed build."""
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider"] +
                          list(args), cwd=workdir, env=installed["env"], capture_output=True,
                          text=True, timeout=timeout)


def user_dir(tmp_path):
    """A directory outside the source tree, with the examples copied in."""
    d = str(tmp_path / "my-scenarios")
    assert not os.path.realpath(d).startswith(os.path.realpath(harness.TOP) + os.sep)
    os.makedirs(d)
    for name in EXAMPLES:
        shutil.copy(os.path.join(harness.TOP, "examples", "scenarios", name), d)
    return d


def test_examples_pass_against_the_installed_package(installed, tmp_path):
    d = user_dir(tmp_path)
    r = user_pytest(installed, d, "-q", "--trace-config", "--lwipd-artifacts",
                    str(tmp_path / "artifacts"))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "%d passed" % len(EXAMPLES) in out, out[-3000:]
    # The plugin came from the destdir, registered by its entry point.
    reg = re.search(r"^PLUGIN registered: <module 'lwipd.pytest_plugin' from '([^']+)'>", out,
                    re.M)
    assert reg and reg.group(1).startswith(installed["dest"]), out[:3000]


def test_without_the_entry_point_there_is_no_fixture(installed, tmp_path):
    d = user_dir(tmp_path)
    r = user_pytest(installed, d, "-q", "-p", "no:lwipd", "test_socket_churn.py")
    assert r.returncode != 0 and "fixture 'lwipd' not found" in r.stdout, r.stdout[-2000:]


def test_a_leaking_lwip_fails_the_test_with_the_artifacts_named(installed, tmp_path):
    d = str(tmp_path / "leaky")
    os.makedirs(d)
    with open(os.path.join(d, "test_leaky.py"), "w") as f:
        f.write(LEAKING)
    art = str(tmp_path / "artifacts")
    r = user_pytest(installed, d, "-q", "--lwipd-artifacts", art)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out[-4000:]
    assert "did not return to its leak baseline" in out and '"PBUF_POOL": 1' in out, out
    kept = os.path.join(art, "test_a_pbuf_leaks")
    assert "artifacts kept in %s" % kept in out, out
    files = os.listdir(kept)
    assert {"lwipd.log", "capture.pcap"} <= set(files), files
    assert any(f.startswith("leaks-") for f in files) and any(
        f.startswith("stats-") for f in files), files
