# SPDX-License-Identifier: MIT
"""Capture files named over the control socket: only plain names, inside
the capture directory (--capture-dir, else --pcap's), never through a
symbolic link, never a FIFO or device, and only from root or lwipd's own
user unless --control-allow-group-writes (lwipd(8), SECURITY)."""
import json
import os
import shutil
import socket
import stat
import tempfile

import pytest

from lwipd import testing as harness

NOBODY = 65534
GROUP = 4242  # a group number with no name: --control-group takes numbers too


def request_as(path, req, uid, gid, groups):
    """Send REQ on the control socket PATH from a forked child running as
    UID:GID with the supplementary GROUPS; returns the response."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(r)
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(path)
            s.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            os.write(w, buf)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = b""
    with os.fdopen(r, "rb") as f:
        out = f.read()  # EOF when the child exits (its socket timeout bounds it)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    return json.loads(out)


@pytest.fixture
def outside():
    """A directory outside the capture directory, with a root-owned 0600
    file in it whose bytes must never change."""
    path = tempfile.mkdtemp(prefix="lwipd-outside-")
    secret = os.path.join(path, "secret")
    with open(secret, "wb") as f:
        f.write(b"not a capture\n" * 10)
    os.chmod(secret, 0o600)
    yield secret
    shutil.rmtree(path, ignore_errors=True)


def start(d, name):
    return d.request({"cmd": "capture", "op": "start", "path": name})


def test_names_with_a_slash_or_dots_are_refused(netns, lwipd_factory, workdir, outside):
    d = lwipd_factory()  # --pcap in workdir: the capture directory is workdir
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    escape = os.path.join(os.path.dirname(workdir), "escape-%d.pcap" % os.getpid())
    for name in (escape, "../" + os.path.basename(escape), outside, "sub/x.pcap", "..", ".",
                 ".hidden", "", "x" * 200, "bad\nname"):
        r = start(d, name)
        assert r["ok"] is False, (name, r)
    assert not os.path.exists(escape)
    assert open(outside, "rb").read() == b"not a capture\n" * 10
    r = start(d, "../" + os.path.basename(escape))
    assert "plain file name" in r["error"], r
    r = start(d, ["x.pcap"])
    assert r["ok"] is False and "must be a file name" in r["error"], r
    assert d.request({"cmd": "status"})["ok"] is True


def test_a_symlink_in_the_capture_dir_is_not_followed(netns, lwipd_factory, workdir, outside):
    d = lwipd_factory()
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    os.symlink(outside, os.path.join(workdir, "link.pcap"))
    os.symlink(os.path.join(os.path.dirname(outside), "new"), os.path.join(workdir, "dangling"))
    os.mkfifo(os.path.join(workdir, "fifo.pcap"))
    r = start(d, "link.pcap")
    assert r["ok"] is False and "symbolic link" in r["error"], r
    r = start(d, "dangling")
    assert r["ok"] is False and "symbolic link" in r["error"], r
    # a FIFO would block a writer without a reader: refused at once
    r = start(d, "fifo.pcap")
    assert r["ok"] is False and "not a regular file" in r["error"], r
    assert open(outside, "rb").read() == b"not a capture\n" * 10
    assert os.stat(outside).st_mode & 0o777 == 0o600
    assert not os.path.exists(os.path.join(os.path.dirname(outside), "new"))
    assert os.path.islink(os.path.join(workdir, "link.pcap"))
    assert d.request({"cmd": "status"})["ok"] is True


def test_a_group_member_may_not_name_files_root_may(netns, lwipd_factory, workdir):
    d = lwipd_factory("--control-group", str(GROUP))
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    target = os.path.join(workdir, "by-member.pcap")
    for name in (target, "by-member.pcap"):
        r = request_as(d.control, {"cmd": "capture", "op": "start", "path": name},
                       NOBODY, NOBODY, [GROUP])
        assert r["ok"] is False and "only root and lwipd's user" in r["error"], r
    assert not os.path.exists(target)
    # A member may still start the capture again on the file lwipd had.
    r = request_as(d.control, {"cmd": "capture", "op": "start"}, NOBODY, NOBODY, [GROUP])
    assert r["ok"] is True and r["path"] == d.pcap, r
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    # root may
    r = start(d, "by-root.pcap")
    assert r["ok"] is True and r["path"] == os.path.join(workdir, "by-root.pcap"), r
    assert harness.ping(netns, d.ip, count=3)["received"] == 3
    harness.wait_for(lambda: len(harness.read_pcap(os.path.join(workdir, "by-root.pcap"))) >= 6,
                     5, "frames in by-root.pcap")


def test_group_writes_allowed_by_option(netns, lwipd_factory, workdir):
    d = lwipd_factory("--control-group", str(GROUP), "--control-allow-group-writes")
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    r = request_as(d.control, {"cmd": "capture", "op": "start", "path": "member.pcap"},
                   NOBODY, NOBODY, [GROUP])
    assert r["ok"] is True, r
    assert stat.S_ISREG(os.lstat(os.path.join(workdir, "member.pcap")).st_mode)


def test_a_valid_name_captures_in_the_capture_dir(netns, lwipd_factory, workdir):
    capdir = os.path.join(workdir, "captures")
    os.makedirs(capdir)
    d = lwipd_factory("--capture-dir", capdir, pcap=False)
    assert d.request({"cmd": "status"})["ok"] is True
    r = start(d, "good.pcap")
    assert r["ok"] is True and r["capturing"] is True, r
    path = os.path.join(capdir, "good.pcap")
    assert r["path"] == path
    assert harness.ping(netns, d.ip, count=5)["received"] == 5
    harness.wait_for(lambda: len(harness.read_pcap(path)) >= 10, 5, "frames in good.pcap")
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o777 == 0o640
    assert any(harness.is_icmp_echo_reply(f) for _, f in harness.read_pcap(path))
    # An existing capture of the same name is replaced (truncated), once stopped.
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True
    assert start(d, "good.pcap")["ok"] is True
    assert d.request({"cmd": "capture", "op": "stop"})["ok"] is True


def test_without_a_capture_dir_names_are_refused(netns, lwipd_factory, workdir):
    d = lwipd_factory(pcap=False)
    for name in (os.path.join(workdir, "x.pcap"), "x.pcap"):
        r = start(d, name)
        assert r["ok"] is False and "no capture directory" in r["error"], r
    assert not os.path.exists(os.path.join(workdir, "x.pcap"))
