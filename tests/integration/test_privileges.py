# SPDX-License-Identifier: MIT
"""Least privilege: --user/--group drop root after the TAP and the control
socket are open; a persistent TAP owned by an unprivileged user is used
with no capability at all; the control socket's owner, group and mode, and
who may talk to it (peer credentials)."""
import json
import os
import shutil
import signal
import stat
import tempfile

import pytest

from lwipd import testing as harness

NOBODY = 65534
GROUP = 4242  # a group number with no name: --control-group takes numbers too


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = v.split()
    return out


def request_as(path, req, uid, gid, groups=()):
    """Send REQ on the control socket PATH as UID:GID with GROUPS; returns
    the response, or {"eof": True} when the daemon closed without one."""
    code = ("import json, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
            "try:\n"
            "    s.sendall(sys.argv[2].encode() + b'\\n')\n"
            "except BrokenPipeError:\n"
            "    pass  # refused and closed already: its answer is still there\n"
            "b = b''\n"
            "while not b.endswith(b'\\n'):\n"
            "    c = s.recv(65536)\n"
            "    if not c: break\n"
            "    b += c\n"
            "print(b.decode().strip() or json.dumps({'eof': True}))\n")
    grp = ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    r = harness.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid] + grp +
                    [harness.PYTHON, "-c", code, path, json.dumps(req)], timeout=20)
    return json.loads(r.stdout)


def as_nobody(workdir):
    """A wrapper running a command as nobody (no capabilities) in a private
    mount namespace whose /dev/net/tun is 0666, as udev makes it on Debian
    (this machine's /dev may have it 0600: the host's node is not touched)."""
    node = os.path.join(workdir, "tun")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mknod -m 666 "$0" c 10 200 && mount --bind "$0" /dev/net/tun && exec "$@"', node,
            "setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all"]


def nobody_dir(workdir, name):
    """A directory nobody may write to: in WORKDIR, or with name "run" a
    short one in /tmp (socket paths are limited to 107 bytes), removed by
    the caller's cleanup list."""
    if name == "run":
        path = tempfile.mkdtemp(prefix="lwipd-run-", dir="/tmp")
        _tmpdirs.append(path)
    else:
        path = os.path.join(workdir, name)
        os.makedirs(path)
    os.chown(path, NOBODY, NOBODY)
    os.chmod(workdir, 0o755)
    return path


_tmpdirs = []


@pytest.fixture(autouse=True)
def _remove_tmpdirs():
    yield
    while _tmpdirs:
        shutil.rmtree(_tmpdirs.pop(), ignore_errors=True)


def test_user_group_drop_after_opening(netns, workdir, lwipd_factory):
    cap = nobody_dir(workdir, "cap")
    logf = os.path.join(workdir, "own.log")
    d = harness.Lwipd(netns, workdir, pcap=False,
                      extra_args=["--user", str(NOBODY), "--group", str(NOBODY),
                                  "--pcap", os.path.join(cap, "c.pcap"), "--log-file", logf])
    d.start()
    try:
        st = proc_status(d.pid)
        assert st["Uid"] == [str(NOBODY)] * 4 and st["Gid"] == [str(NOBODY)] * 4
        assert st["Groups"] == [str(NOBODY)] or st["Groups"] == []
        for k in ("CapEff", "CapPrm", "CapAmb"):
            assert int(st[k][0], 16) == 0, (k, st[k])
        assert st["NoNewPrivs"] == ["1"]
        # The driver's DMA thread, started before the drop, kept its
        # real-time priority.
        assert d.stats()["driver"]["rt_threads"] == 1
        # The TAP, its carrier and the control socket still work.
        assert harness.ping(netns, d.ip, count=3)["received"] == 3
        assert d.request({"cmd": "link", "state": "down"})["ok"] is True
        harness.wait_for(lambda: not netns.carrier(), 5, "host sees NO-CARRIER")
        assert d.request({"cmd": "link", "state": "up"})["ok"] is True
        harness.wait_for(netns.carrier, 5, "host sees the carrier")
        # SIGHUP as nobody: the log reopens, the capture rotates in its directory.
        d.signal(signal.SIGHUP)
        harness.wait_for(lambda: os.path.exists(os.path.join(cap, "c.pcap.1")), 5,
                         "capture rotated by SIGHUP")
        assert "running as uid %d gid %d" % (NOBODY, NOBODY) in open(logf).read()
        assert "cannot reopen" not in open(logf).read()
    finally:
        assert d.stop() == 0
    assert not os.path.exists(d.control)  # removed at exit, as nobody, from /tmp


def test_persistent_tap_owned_by_the_user_needs_no_capability(netns, workdir):
    netns.run(["ip", "link", "del", netns.tap])
    netns.run(["ip", "tuntap", "add", "dev", netns.tap, "mode", "tap", "user", str(NOBODY)])
    netns.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % netns.tap])
    netns.run(["ip", "addr", "add", netns.host_cidr, "dev", netns.tap])
    netns.run(["ip", "link", "set", netns.tap, "up"])
    run_dir = nobody_dir(workdir, "run")
    d = harness.Lwipd(netns, workdir, pcap=False, wrapper=as_nobody(workdir))
    d.control = os.path.join(run_dir, "c.sock")
    d.args[d.args.index("--control") + 1] = d.control
    d.start()
    try:
        st = proc_status(d.pid)
        assert st["Uid"][0] == str(NOBODY) and int(st["CapEff"][0], 16) == 0
        assert int(st["CapBnd"][0], 16) == 0
        assert harness.ping(netns, d.ip, count=3)["received"] == 3
        assert d.request({"cmd": "link", "state": "down"})["ok"] is True
        harness.wait_for(lambda: not netns.carrier(), 5, "host sees NO-CARRIER")
        assert d.request({"cmd": "link", "state": "up"})["ok"] is True
        assert harness.ping(netns, d.ip, count=3)["received"] == 3
    finally:
        assert d.stop() == 0
    # A TAP owned by another user: refused, exit 77 (EX_NOPERM). (One with
    # no owner at all is open to anybody who may open /dev/net/tun.)
    netns.run(["ip", "link", "del", netns.tap])
    netns.run(["ip", "tuntap", "add", "dev", netns.tap, "mode", "tap", "user", "1"])
    os.unlink(os.path.join(workdir, "tun"))
    r = netns.run(as_nobody(workdir) + [
        harness.LWIPD, "--tap", netns.tap, "--ip", "198.18.0.2/24",
        "--control", os.path.join(run_dir, "d.sock")], check=False, timeout=20)
    assert r.returncode == 77, r.stderr
    assert "CAP_NET_ADMIN" in r.stderr


def test_user_without_root_is_refused(netns, workdir):
    netns.run(["ip", "link", "del", netns.tap])
    netns.run(["ip", "tuntap", "add", "dev", netns.tap, "mode", "tap", "user", str(NOBODY)])
    run_dir = nobody_dir(workdir, "run")
    r = netns.run(as_nobody(workdir) + [
        harness.LWIPD, "--tap", netns.tap, "--ip", "198.18.0.2/24", "--user", "0",
        "--control", os.path.join(run_dir, "c.sock")], check=False, timeout=20)
    assert r.returncode == 77, r.stderr
    assert "need root" in r.stderr


def test_control_socket_owner_group_mode_and_peer_credentials(netns, workdir, lwipd_factory):
    # The default: mode 0600, owned by the user lwipd runs as (root here).
    d = lwipd_factory()
    st = os.stat(d.control)
    assert stat.S_ISSOCK(st.st_mode)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o600)
    d.stop()
    d = lwipd_factory("--control-owner", str(NOBODY), "--control-group", str(GROUP))
    st = os.stat(d.control)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (NOBODY, GROUP, 0o660)
    d.stop()
    d = lwipd_factory("--control-mode", "0666")
    assert os.stat(d.control).st_mode & 0o777 == 0o666
    # root is served; anybody else is not (the mode lets them connect).
    assert d.request({"cmd": "status"})["ok"] is True
    r = request_as(d.control, {"cmd": "status"}, NOBODY, NOBODY)
    assert r.get("ok") is False and r["error"] == "permission denied", r
    r = request_as(d.control, {"cmd": "status"}, NOBODY, NOBODY, groups=[GROUP])
    assert r.get("ok") is False, r
    d.stop()
    # (accepted connections are logged at debug, refusals at warn)
    d = lwipd_factory("--control-mode", "0666", "--control-group", str(GROUP),
                      "--log-level", "debug")
    # a member of the control group, by a supplementary group or its primary one
    r = request_as(d.control, {"cmd": "status"}, NOBODY, NOBODY, groups=[GROUP])
    assert r.get("ok") is True, r
    r = request_as(d.control, {"cmd": "status"}, NOBODY, GROUP)
    assert r.get("ok") is True, r
    r = request_as(d.control, {"cmd": "status"}, NOBODY, NOBODY, groups=[GROUP + 1])
    assert r.get("ok") is False and r["error"] == "permission denied", r
    assert d.request({"cmd": "status"})["ok"] is True  # root, logged by this debug daemon
    # Every connection is logged with its credentials.
    log = d.read_log()
    assert "uid %d gid %d connected" % (NOBODY, NOBODY) in log
    assert "uid %d gid %d connected" % (NOBODY, GROUP) in log
    assert "uid %d gid %d refused" % (NOBODY, NOBODY) in log
    assert "uid 0 gid 0 connected" in log
