# SPDX-License-Identifier: MIT
"""Building against a user's lwipopts.h: a missing must-have option stops
the build with lwipd's own message; the small-MCU profile builds and runs."""
import os

import pytest

from lwipd import testing as harness

SMALL = os.path.join(harness.TOP, "port", "opts", "small")


def meson_setup(builddir, *opts):
    """meson setup against the lwIP tree under test (harness.tree_opts);
    OPTS may set another."""
    return harness.run(["meson", "setup", builddir] + harness.tree_opts("lwip_src") + list(opts),
                       cwd=harness.TOP, timeout=120, check=False)


@pytest.mark.parametrize("bad,message", [
    ("#define NO_SYS 1", "lwipd needs NO_SYS=0"),
    ("#define MEMP_STATS 0", "MEMP_STATS"),
    ("#define LWIP_COMPAT_SOCKETS 1", "LWIP_COMPAT_SOCKETS=0"),
])
def test_user_lwipopts_missing_option_is_a_clear_error(tmp_path, bad, message):
    opts = tmp_path / "opts"
    opts.mkdir()
    with open(os.path.join(SMALL, "lwipopts.h")) as f:
        text = f.read()
    key = bad.split()[1]
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#define %s " % key))
    (opts / "lwipopts.h").write_text(text + "\n" + bad + "\n")
    b = str(tmp_path / "b")
    r = meson_setup(b, "-Dlwipopts_dir=" + str(opts), "-Dtests=disabled")
    assert r.returncode == 0, r.stdout + r.stderr
    # Only the port object: the check lives in port/optcheck.h, included there.
    r = harness.run(["ninja", "-C", b, "port/libport.a.p/sys_arch.c.o"], timeout=300, check=False)
    assert r.returncode != 0
    assert message in r.stdout + r.stderr, r.stdout[-2000:]


def test_meson_refuses_a_missing_lwip_tree(tmp_path):
    r = meson_setup(str(tmp_path / "b"), "-Dlwip_src=" + str(tmp_path / "nowhere"))
    assert r.returncode != 0
    assert "lwIP not found" in r.stdout + r.stderr


def test_small_mcu_profile_builds_and_runs(netns, workdir):
    # The variant the lwipd marker's lwipopts= makes (test_pytest_plugin.py).
    d = harness.Lwipd(netns, workdir, binary=harness.lwipopts_build(SMALL))
    d.start()
    try:
        opts = d.request({"cmd": "version"})["build"]["options"]
        assert opts["TCP_MSS"] == 536 and opts["PBUF_POOL_SIZE"] == 16
        assert harness.ping(netns, d.ip, count=10)["received"] == 10
        r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 64 * 1024)
        assert r["match"] is True
    finally:
        assert d.stop() == 0
