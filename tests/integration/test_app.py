# SPDX-License-Identifier: MIT
"""Your firmware's code in lwipd (lwipd-app(3)): `meson install` of this
build into a scratch root, examples/sockets-server built out of tree
against it with pkg-config, loaded with --app and `lwipctl app load`;
its answers, counters and command checked from the host; an app built
against other lwIP options, or another lwIP release's headers, refused at
startup (exit 64) and at run time (an error answer); a start() that
fails, with and without --app-required; a crash report whose interrupted
stack is the app's thread."""
import json
import os
import glob
import re
import shutil
import subprocess

import pytest

from lwipd import testing as harness

EXAMPLE = os.path.join(harness.TOP, "examples", "sockets-server")
PORT = 13400
FRAMED = os.path.join(harness.HELPERS, "framed.py")


def build_example(root, builddir):
    """examples/sockets-server built against the lwipd installed under ROOT
    (a DESTDIR, harness.build_example()). Returns the module's path."""
    return os.path.join(harness.build_example(root, EXAMPLE, builddir), "sockets_server.so")


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    """{"good": .so built against this build's installed headers,
        "other": the same built against a copy whose lwipopts.h has another
        TCP_MSS, "otherlwip": against a copy with another lwIP release's
        headers ("lwip": that release), "pc": `pkg-config --cflags --libs
        lwipd-app`}."""
    top = tmp_path_factory.mktemp("app")
    root = str(top / "root")
    harness.run(["meson", "install", "-C", harness.BUILD, "--no-rebuild", "--destdir", root],
                timeout=120)
    out = {"good": build_example(root, str(top / "good"))}
    pcdir = os.path.dirname(harness.run(["find", root, "-name", "lwipd-app.pc"]).stdout.split()[0])
    out["pc"] = harness.run(["pkg-config", "--cflags", "--libs", "lwipd-app"],
                            env=dict(os.environ, PKG_CONFIG_PATH=pcdir,
                                     PKG_CONFIG_SYSROOT_DIR=root)).stdout
    other = str(top / "other-root")
    shutil.copytree(root, other, symlinks=True)
    opts = harness.run(["find", other, "-path", "*/lwipd/opts/lwipopts.h"]).stdout.split()
    assert len(opts) == 1, opts
    with open(opts[0]) as f:
        text = f.read()
    text, n = re.subn(r"^#define TCP_MSS\s+\d+", "#define TCP_MSS 1200", text, flags=re.M)
    assert n == 1
    with open(opts[0], "w") as f:
        f.write(text)
    out["other"] = build_example(other, str(top / "other"))
    # And against another lwIP release's headers, with the same options.
    mine = re.search(r"^lwIP (\d+)\.(\d+)", harness.run([harness.LWIPD, "--version"]).stdout,
                     re.M)
    out["lwip"] = "2.0.3" if (int(mine.group(1)), int(mine.group(2))) >= (2, 2) else "2.2.1"
    tree = harness.run([os.path.join(harness.TOP, "scripts", "fetch-lwip"), out["lwip"]],
                       timeout=300).stdout.strip().splitlines()[-1]
    older = str(top / "lwip-root")
    shutil.copytree(root, older, symlinks=True)
    (inc,) = harness.run(["find", older, "-type", "d", "-path",
                          "*/lwipd/lwip-include"]).stdout.split()
    shutil.rmtree(inc)
    shutil.copytree(os.path.join(tree, "src", "include"), inc)
    out["otherlwip"] = build_example(older, str(top / "otherlwip"))
    return out


def talk(ns, conns, reqs):
    return ns.helper("framed.py", "talk", harness.LWIP_IP, PORT, conns, reqs)


def wait_listening(d, port=PORT):
    """Wait for the app's thread to listen (its log line), then take lwipd's
    leak baseline again: lwipd takes it at READY, once start() returned,
    and the app's thread makes its listening socket after that."""
    harness.wait_for(lambda: "listening on TCP %d" % port in d.read_log(), 10,
                     "the app listening on %d" % port)
    assert d.request({"cmd": "leaks", "reset": True})["ok"]


def app_stats(d):
    return d.stats()["apps"]["sockets_server"]


def lwipctl_json(d, *args):
    r = d.lwipctl("--json", *args)
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None


def test_install_ships_header_lwip_and_options(modules):
    """pkg-config hands an out-of-tree build the API header, lwIP's headers
    and this build's lwipopts.h, from the installed tree."""
    flags = modules["pc"].split()
    incs = [f[2:] for f in flags if f.startswith("-I")]
    for rel in ("lwipd/app.h", "lwip/tcp.h", "lwipopts.h", "arch/cc.h", "lwipd_config.h"):
        assert any(os.path.exists(os.path.join(i, rel)) for i in incs), (rel, incs)


def test_app_serves_counts_answers_and_unloads(netns, lwipd_factory, modules):
    d = lwipd_factory("--app", modules["good"] + ":port=%d" % PORT)
    assert "'sockets_server' started" in d.read_log()
    wait_listening(d)
    r = talk(netns, 3, 5)
    assert r == {"ok": 15, "bad": 0, "sample": "ACK:req 0.0 "}, r
    # Counters under apps.<name> in `lwipctl stats --json`
    rc, st = lwipctl_json(d, "stats")
    assert rc == 0
    c = st["stats"]["apps"]["sockets_server"]
    assert c["requests"] == 15 and c["connections"] == 3 and c["errors"] == 0, c
    assert c["bytes_out"] == c["bytes_in"] + 15 * 4, c  # each answer: "ACK:" more
    # The app's own command, through lwipctl, JSON both ways
    holder = netns.popen([harness.PYTHON, FRAMED, "talk", harness.LWIP_IP, str(PORT), "2", "1",
                          "hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(holder.stdout.readline())["ok"] == 2
        harness.wait_for(lambda: app_stats(d)["clients"] == 2, 10, "2 clients connected")
        rc, resp = lwipctl_json(d, "app", "sockets_server", "clients")
        assert rc == 0 and resp["ok"], resp
        assert resp["reply"] == {"clients": 2, "connections": 5, "port": PORT}, resp
    finally:
        holder.stdin.write("done\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    harness.wait_for(lambda: app_stats(d)["clients"] == 0, 10, "clients gone")
    rc, resp = lwipctl_json(d, "app", "sockets_server", "clients", "extra")
    assert rc == 1 and resp["error"] == "sockets_server: clients takes no arguments", resp
    rc, resp = lwipctl_json(d, "app", "sockets_server", "nope")
    assert rc == 1 and "has no command 'nope'" in resp["error"], resp
    # list, then unload: the port closes, the app's threads are gone
    rc, resp = lwipctl_json(d, "app", "list")
    (app,) = resp["apps"]
    assert app["name"] == "sockets_server" and app["path"] == modules["good"]
    assert app["args"] == "port=%d" % PORT and app["threads"] == 1  # its select loop
    assert app["counters"]["requests"] == 17 and "clients" in app["commands"]
    build = d.request({"cmd": "version"})["build"]
    assert app["fingerprint"] == build["app_abi_fingerprint"] and build["app_api"] == 1
    rc, resp = lwipctl_json(d, "app", "unload", "sockets_server")
    assert rc == 0 and resp["ok"], resp
    assert netns.helper("framed.py", "connect", harness.LWIP_IP, PORT) == {
        "connected": False, "error": "ECONNREFUSED"}
    assert "sockets_server" not in d.stats()["apps"]
    assert lwipctl_json(d, "app", "list")[1]["apps"] == []
    # Loaded again at run time, on another port
    rc, resp = lwipctl_json(d, "app", "load", modules["good"] + ":port=%d" % (PORT + 1))
    assert rc == 0 and resp["apps"][0]["started"], resp
    wait_listening(d, PORT + 1)
    r = netns.helper("framed.py", "talk", harness.LWIP_IP, PORT + 1, 1, 2)
    assert r["ok"] == 2, r
    assert app_stats(d)["requests"] == 2  # a fresh app: fresh counters
    ok, leaks = d.wait_leaks_clean()
    assert ok, leaks


def test_other_lwip_options_refused_at_startup(netns, workdir, modules):
    d = harness.Lwipd(netns, workdir, extra_args=["--app", modules["other"]], pcap=False)
    with pytest.raises(harness.HarnessError):
        d.start()
    assert d.wait() == 64
    log = d.read_log()
    assert "'sockets_server' was built with other lwIP options than this lwipd" in log, log
    assert "TCP_MSS=1200 (lwipd: 1460)" in log, log


def test_other_lwip_version_refused(netns, lwipd_factory, workdir, modules):
    d = harness.Lwipd(netns, os.path.join(workdir, "first"), pcap=False,
                      extra_args=["--app", modules["otherlwip"]])
    with pytest.raises(harness.HarnessError):
        d.start()
    assert d.wait() == 64
    want = "'sockets_server' was built against lwIP %s, this lwipd runs lwIP " % modules["lwip"]
    assert want in d.read_log(), d.read_log()
    d = lwipd_factory()
    rc, resp = lwipctl_json(d, "app", "load", modules["otherlwip"])
    assert rc == 1 and resp["error"].startswith(want), resp


def test_other_lwip_options_refused_at_run_time(netns, lwipd_factory, modules):
    d = lwipd_factory()
    rc, resp = lwipctl_json(d, "app", "load", modules["other"])
    assert rc == 1 and not resp["ok"]
    assert "TCP_MSS=1200 (lwipd: 1460)" in resp["error"], resp
    assert d.alive() and lwipctl_json(d, "app", "list")[1]["apps"] == []
    rc, resp = lwipctl_json(d, "app", "load", "/nonexistent/app.so")
    assert rc == 1 and "cannot load /nonexistent/app.so" in resp["error"], resp


def test_start_failure_is_reported_and_lwipd_stays_up(netns, lwipd_factory, modules):
    d = lwipd_factory("--app", modules["good"] + ":fail")
    log = d.read_log()
    assert "start refused: asked to fail" in log
    assert "'sockets_server': start() failed" in log
    assert d.request({"cmd": "app", "argv": ["list"]})["apps"] == []
    assert d.request({"cmd": "status"})["ok"]
    assert harness.ping(netns, d.ip, count=3)["received"] > 0  # lwIP answers on the wire
    rc, resp = lwipctl_json(d, "app", "load", modules["good"] + ":fail")
    assert rc == 1 and "start() failed" in resp["error"], resp
    assert d.alive()


def test_start_failure_with_app_required_exits_70(netns, workdir, modules):
    d = harness.Lwipd(netns, workdir, pcap=False,
                      extra_args=["--app", modules["good"] + ":fail", "--app-required"])
    with pytest.raises(harness.HarnessError):
        d.start()
    assert d.wait() == 70
    assert "--app-required: 'sockets_server': start() failed" in d.read_log()


def test_config_file_loads_apps(netns, lwipd_factory, workdir, modules):
    """`app = PATH:ARGS` lines of the config file, as --app."""
    conf = os.path.join(workdir, "lwipd.conf")
    with open(conf, "w") as f:
        f.write("app = %s:port=%d\n" % (modules["good"], PORT))
    d = lwipd_factory("--config", conf)
    wait_listening(d)
    assert talk(netns, 1, 3)["ok"] == 3
    (app,) = d.request({"cmd": "app", "argv": ["list"]})["apps"]
    assert app["args"] == "port=%d" % PORT
    r = harness.run([harness.LWIPD, "--config", conf, "--tap", "x", "--ip", "198.18.0.2/24",
                     "--check-config"])
    assert "app = %s:port=%d\n#   (config line 1)" % (modules["good"], PORT) in r.stdout


@pytest.mark.skipif(harness.VALGRIND,
                    reason="valgrind serialises threads: the ISR-in-heap race is unreachable")
def test_crash_report_names_the_apps_functions(netns, workdir, modules):
    """The TX-complete ISR frees into lwIP's heap (--txc-free isr, a heap
    that is not ISR-safe) while it interrupts the app's own thread
    (--irq-target names it): the report's interrupted stack runs through
    the app's functions (inside lwip_send(), in the common case)."""
    d = harness.Lwipd(netns, workdir, pcap=False,
                      extra_args=["--app", modules["good"], "--txc-free", "isr",
                                  "--irq-target", "sockapp", "--report-dir", workdir] +
                      harness.STORM_EMAC)
    d.start()
    load = netns.popen([harness.PYTHON, FRAMED, "load", harness.LWIP_IP, str(PORT), "4", "20"],
                       stdout=subprocess.PIPE, text=True)
    try:
        code = d.wait(timeout=20)
    finally:  # its connections to a vanished lwipd would wait for their timeout
        load.kill()
        out = load.communicate(timeout=30)[0]
    d.expect_failure = True
    assert code == 3, "no detection (exit %s, load %s); log:\n%s" % (
        code, out, d.read_log()[-2000:])
    (path,) = glob.glob(os.path.join(workdir, "lwipd-crash-*.json"))
    with open(path) as f:
        rep = json.load(f)
    assert rep["kind"] == "irq-violation"
    under = rep["interrupted_stack"]
    fns = [fr["fn"] for fr in under["frames"]]
    assert under["thread"] == "sockapp", under["thread"]
    assert "sockapp_loop" in fns, fns  # the app's thread function, named from its .so
    # Either the app was inside lwIP's heap (a re-entry: the common case),
    # or it waited in select() while another thread held the heap's lock.
    rule = rep["violation"]["rule"]
    if "re-entered a lock held by the interrupted context" in rule:
        assert "sockapp_send_frame" in fns and "lwip_send" in fns, fns
        assert {"mem_malloc", "mem_free"} & set(fns), fns
    else:
        assert rule == "ISR would wait for a lock held by another thread", rule
        assert "lwip_select" in fns, fns


USER_TEST = '''
import os

import pytest


@pytest.mark.lwipd(app=os.environ["APP"] + ":port=13410")
def test_my_app_runs(lwipd):
    assert "'sockets_server' started" in lwipd.read_log()
    assert lwipd.stats()["apps"]["sockets_server"]["errors"] == 0


@pytest.mark.lwipd(app=os.environ["APP"] + ":fail")
def test_my_app_fails_to_start(lwipd):
    pass
'''


def test_pytest_marker_loads_the_app(modules, tmp_path):
    """@pytest.mark.lwipd(app=...) of the pytest plugin: the app runs in the
    fixture's lwipd; one whose start() fails fails the test (--app-required)."""
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = dict(os.environ, PYTHONPATH=os.path.join(harness.TOP, "python"),
               LWIPD_BUILD=harness.BUILD, APP=modules["good"])
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "lwipd.pytest_plugin", "--lwipd-artifacts", str(tmp_path / "art"),
                        "test_user.py"], cwd=str(tmp_path), env=env, capture_output=True,
                       text=True, timeout=300)
    assert "1 passed, 1 error" in r.stdout, r.stdout[-3000:]
    assert "ERROR test_user.py::test_my_app_fails_to_start" in r.stdout, r.stdout[-3000:]
    assert "exited (70) before ready" in r.stdout, r.stdout[-3000:]
