# SPDX-License-Identifier: MIT
"""Everything a test of lwipd uses, under one name: the namespace, the
daemon, bounded waits, ping, the capture readers, variant builds and the
load generators of the project's own suite.

    from lwipd import testing as harness

gives the names of the project's former tests/integration/harness.py
(Netns is Namespace, Lwipd is Daemon, HarnessError is LwipdError), so a test
written against it needs only that import line. TOP, BUILD, LWIPD and
LWIPCTL are looked up when read (config.py): the build under test, its
source tree, the binaries."""
import hashlib
import json
import os
import re
import signal
import subprocess
import time

from . import capture, config
from .config import (PYTHON, TIME_SCALE, VALGRIND, VALGRIND_EXIT,  # noqa: F401
                     LwipdError, artifacts_dir, configure)
from .daemon import ControlClient, ControlError, Daemon, valgrind_wrapper  # noqa: F401
from .netns import (CARRIER_TOL, HELPER_DIRS, HOST_IP, HOST_MSS, LWIP_IP,  # noqa: F401
                    SAFE_NET, Namespace, check_safe, helper_path, run, unique_subnet)
from .waiting import wait_for

# The former harness's names.
Netns = Namespace
Lwipd = Daemon
HarnessError = LwipdError

_LAZY = {
    "TOP": config.source_dir,
    "BUILD": config.build_dir,
    "LWIPD": lambda: config.binary("lwipd"),
    "LWIPCTL": lambda: config.binary("lwipctl"),
    "CHURN": lambda: config.binary("lwipd-churn"),
    "REPORT": lambda: os.path.join(config.source_dir(), "tools", "lwipd-report"),
    # The directory a test suite added last to HELPER_DIRS (the project's
    # tests/integration/helpers); helper_path(NAME) searches them all.
    "HELPERS": lambda: HELPER_DIRS[-1],
}


def __getattr__(name):
    if name in _LAZY:
        return _LAZY[name]()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


# ---- captures and events ------------------------------------------------------

def read_pcap(path):
    """[(ts_seconds_float, bytes)] from one capture file: classic pcap (us
    or ns) or pcapng."""
    try:
        return [(f.ts, f.data) for f in capture.read_frames(path)]
    except capture.CaptureError as e:
        raise LwipdError(str(e))


TCP_SACK_PERM, TCP_SACK = capture.TCP_SACK_PERM, capture.TCP_SACK
tcp_segments = capture.tcp_segments
mac_bytes = capture.mac_bytes


def read_events(path, type_=None):
    """The events of an events log (lwipd --events PATH), of TYPE_ only if
    given."""
    with open(path) as f:
        evs = [json.loads(line) for line in f if line.strip()]
    return [e for e in evs if type_ is None or e["type"] == type_]


def host_data_stalls(segs, host_port, min_gap=0.5):
    """The silences of at least MIN_GAP s in the host's data on the
    connection from HOST_PORT (tcp_segments()), each as (seconds, the
    sequence number the host sent next, lwIP's last ACK before it). A
    timeout retransmission sends lwIP's ACK point again."""
    stalls, last_data, last_ack = [], None, None
    for s in segs:
        if s["host_port"] != host_port:
            continue
        if s["from_lwip"]:
            if s["flags"] & 0x10:
                last_ack = s["ack"]
            continue
        if s["len"] <= 0:
            continue
        if last_data is not None and s["ts"] - last_data >= min_gap:
            stalls.append((s["ts"] - last_data, s["seq"], last_ack))
        last_data = s["ts"]
    return stalls


def expects_garp_on_link_up(status):
    """lwIP sends a gratuitous ARP for a static address on link up, except
    2.2+ built with LWIP_ACD (ACD then announces only the addresses it
    manages: DHCP and AutoIP)."""
    return not status["build"]["options"].get("LWIP_ACD", 0)


def is_icmp_echo_reply(frame):
    """FRAME (bytes) is an ICMP echo reply (scapy's dissection)."""
    from scapy.layers.inet import ICMP
    from scapy.layers.l2 import Ether
    p = Ether(frame)
    return ICMP in p and p[ICMP].type == 0


def is_gratuitous_arp(frame, ip):
    """An ARP frame whose sender and target IP are both IP (request or reply)."""
    from scapy.layers.l2 import ARP, Ether
    p = Ether(frame)
    return ARP in p and p[ARP].psrc == ip and p[ARP].pdst == ip


# ---- host-side tools ----------------------------------------------------------

def ping_flood(ns, addr, count=3000, interval="0.002", size=56):
    """A bounded ping flood from NS (COUNT pings INTERVAL s apart), in the
    background; stop it with interrupt()."""
    check_safe(addr)
    return ns.popen(["ping", "-n", "-q", "-i", str(interval), "-c", str(count), "-W", "1",
                     "-s", str(size), addr],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def interrupt(proc):
    """Stop a background tool the way a user would (SIGINT), then harder."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def ping(ns, addr, count=10, interval=0.01, timeout=60):
    """Run ping in NS; return dict(transmitted, received, loss, avg_ms)."""
    check_safe(addr)
    r = ns.run(["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", "2", addr],
               timeout=timeout, check=False)
    out = r.stdout
    res = {"transmitted": 0, "received": 0, "loss": 100.0, "avg_ms": None, "output": out}
    for line in out.splitlines():
        if "packets transmitted" in line:
            parts = line.split(",")
            res["transmitted"] = int(parts[0].split()[0])
            res["received"] = int(parts[1].split()[0])
            res["loss"] = float([p for p in parts if "packet loss" in p][0].split("%")[0])
        if line.startswith("rtt") or line.startswith("round-trip"):
            res["avg_ms"] = float(line.split("=")[1].split("/")[1])
    return res


def lwip_version(d):
    """lwIP's version of daemon D as a tuple, e.g. (2, 0, 3)."""
    return d.lwip_version()


class HostIperf3Server:
    """`iperf3 -s -1 -J` on the host side of NS's TAP (for lwIP's iperf3
    client); result() waits for its JSON, stop() kills it if still there."""

    def __init__(self, ns, port=5201):
        self.ns = ns
        self.port = port
        self.proc = ns.popen(["timeout", "60", "iperf3", "-s", "-1", "-J", "-B", ns.host_ip,
                              "-p", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(self.listening, 10 * TIME_SCALE, "iperf3 -s to listen")

    def listening(self):
        r = self.ns.run(["ss", "-Hltn", "sport", "=", ":%d" % self.port], check=False)
        return str(self.port) in r.stdout

    def result(self):
        out, err = self.proc.communicate(timeout=60 * TIME_SCALE)
        return json.loads(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- variant builds ----------------------------------------------------------

_VARIANT_OPTS = ("b_sanitize", "b_lundef", "c_args", "buildtype")
# What the build under test was made from: a test's own build uses the same.
_TREE_OPTS = ("lwip_src", "lwipopts_dir")
_build_options = None


def build_options():
    """{meson option: value} of the build under test, from meson's
    introspection (read once)."""
    global _build_options
    if _build_options is None:
        intro = run(["meson", "introspect", "--buildoptions", config.build_dir()], timeout=60)
        _build_options = {o["name"]: o["value"] for o in json.loads(intro.stdout)}
    return _build_options


_lwip_options = None


def lwip_options():
    """{lwIP option: int} of the lwipd under test, as `lwipd --version`
    prints them (daemon/buildinfo.c: the limits and feature switches tests
    depend on; read once)."""
    global _lwip_options
    if _lwip_options is None:
        out = run([config.binary("lwipd"), "--version"], timeout=30).stdout
        _lwip_options = {}
        for line in out.splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and line.startswith("  "):
                _lwip_options[name] = int(value)
    return _lwip_options


def tree_opts(*names):
    """-Dlwip_src=... and -Dlwipopts_dir=... of the build under test (those
    of NAMES, default both; only those it set), so that a build a test makes
    uses the lwIP tree and the lwipopts.h under test. meson resolves a
    relative lwipopts_dir against the project: run meson setup in TOP."""
    opts = build_options()
    return ["-D%s=%s" % (n, opts[n]) for n in (names or _TREE_OPTS) if opts.get(n)]


def variant_build(name, *meson_opts):
    """Build lwipd with extra meson options in BUILD/variants/NAME (reused if
    already there), inheriting the main build's lwIP tree, lwipopts.h,
    sanitizer and compiler options. Returns the path of the lwipd binary."""
    out = os.path.join(config.build_dir(), "variants", name)
    binary = os.path.join(out, "daemon", "lwipd")
    if not os.path.exists(os.path.join(out, "build.ninja")):
        inherited = []
        for opt, v in build_options().items():
            if opt in _VARIANT_OPTS:
                if isinstance(v, list):
                    v = ",".join(v)
                inherited.append("-D%s=%s" % (opt, v))
        given = {o.split("=", 1)[0] for o in meson_opts}  # a variant's own win
        opts = inherited + ["-Dtests=disabled"] + [
            o for o in tree_opts() if o.split("=", 1)[0] not in given]
        r = run(["meson", "setup", out] + opts + list(meson_opts), cwd=config.source_dir(),
                timeout=300, check=False)
        if r.returncode != 0:
            raise LwipdError("meson setup %s failed: %s %s" % (name, r.stdout[-2000:], r.stderr))
    r = run(["ninja", "-C", out, "daemon/lwipd"], timeout=900, check=False)
    if r.returncode != 0:
        raise LwipdError("building variant %s failed: %s" % (name, r.stdout[-3000:]))
    return binary


def lwipopts_build(lwipopts_dir):
    """The lwipd binary of a variant of the build under test (variant_build:
    the same lwIP tree, sanitizers and compiler options) made with the
    lwipopts.h in LWIPOPTS_DIR; one per directory, reused. Raises
    LwipdError when there is no build directory to make it from (an
    installed lwipd cannot be rebuilt) or no lwipopts.h in the directory."""
    path = os.path.abspath(lwipopts_dir)
    if not os.path.isfile(os.path.join(path, "lwipopts.h")):
        raise LwipdError("lwipopts=%s: there is no lwipopts.h in that directory" % lwipopts_dir)
    if not config.build_dir():
        raise LwipdError("lwipopts=%s: lwipd is built from its source tree with that "
                         "lwipopts.h, which needs a build of it: set LWIPD_BUILD to a "
                         "build directory of lwipd's source" % lwipopts_dir)
    name = "opts-%s-%s" % (re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(path)),
                           hashlib.sha1(path.encode()).hexdigest()[:8])
    return variant_build(name, "-Dlwipopts_dir=" + path)


# lwIP's own apps (-Dlwip_apps) the suite tests.
LWIP_APPS = ("httpd", "mdns", "mqtt", "sntp", "tftp")


def lwip_apps_build(apps=LWIP_APPS):
    """The build directory of an lwipd with lwIP's APPS built in: the build
    under test when it has them, else a variant of it (variant_build;
    "lwip-apps" for all of LWIP_APPS, so that every test needing them
    shares one build). Raises LwipdError with meson's words ("lwIP 2.0.3 has
    no tftp app") when the tree under test lacks one."""
    if set(apps) <= set(build_options().get("lwip_apps") or []):
        return config.build_dir()
    name = "lwip-apps" if set(apps) == set(LWIP_APPS) else "lwip-" + "-".join(sorted(apps))
    binary = variant_build(name, "-Dlwip_apps=" + ",".join(sorted(apps)))
    return os.path.dirname(os.path.dirname(binary))


def install_build(builddir, root):
    """`meson install --destdir ROOT` of BUILDDIR: the build under test as it
    is (it is not rebuilt), a variant after building all of it (only its
    lwipd was). Returns the installed lwipd's path."""
    if builddir != config.build_dir():
        r = run(["ninja", "-C", builddir], timeout=900, check=False)
        if r.returncode != 0:
            raise LwipdError("building %s failed: %s" % (builddir, r.stdout[-3000:]))
    run(["meson", "install", "-C", builddir, "--no-rebuild", "--destdir", root], timeout=120)
    (lwipd,) = run(["find", root, "-type", "f", "-name", "lwipd",
                    "-path", "*/sbin/*"]).stdout.split()
    return lwipd


def build_example(root, srcdir, builddir):
    """Build the app project SRCDIR (an lwipd-app(3) meson project such as
    examples/NAME) out of tree in BUILDDIR against the lwipd installed under
    ROOT (a DESTDIR): pkg-config finds lwipd-app.pc there, its paths
    prefixed with ROOT. Returns BUILDDIR."""
    pcdirs = [os.path.dirname(p)
              for p in run(["find", root, "-name", "lwipd-app.pc"]).stdout.split()]
    if len(pcdirs) != 1:
        raise LwipdError("lwipd-app.pc under %s: %r" % (root, pcdirs))
    env = dict(os.environ, PKG_CONFIG_PATH=pcdirs[0], PKG_CONFIG_SYSROOT_DIR=root)
    run(["meson", "setup", builddir, srcdir], env=env, timeout=120)
    run(["ninja", "-C", builddir], env=env, timeout=120)
    return builddir


# ---- an MQTT broker on the host side ------------------------------------------

MQTT_PORT = 1883


def start_mosquitto(ns, workdir, port=MQTT_PORT):
    """mosquitto in NS on HOST_IP:PORT only (anonymous, no persistence),
    logging everything to WORKDIR/mosquitto.log; returns once it listens.
    The caller stops it with stop_process()."""
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d %s\nallow_anonymous true\npersistence false\n"
                "log_dest stderr\nlog_type all\nuser root\n" % (port, HOST_IP))
    with open(os.path.join(workdir, "mosquitto.log"), "wb") as log:
        broker = ns.popen(["mosquitto", "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: ns.run(["ss", "-Hltn", "src", "%s:%d" % (HOST_IP, port)]).stdout.strip(),
                 10, "mosquitto to listen")
    except BaseException:
        stop_process(broker)
        raise
    return broker


def mosquitto_subscriptions(workdir):
    """How many SUBSCRIBE requests the broker of WORKDIR has logged."""
    with open(os.path.join(workdir, "mosquitto.log"), errors="replace") as f:
        return f.read().count("SUBSCRIBE")


def stop_process(proc, timeout=10):
    """Stop a host tool a test started (by its PID: SIGTERM, then SIGKILL);
    returns its (stdout, stderr) if they were pipes."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


# ---- pools -------------------------------------------------------------------

def pool_usage(stats):
    """{pool: used} for every memp pool, plus the heap as "HEAP"."""
    u = {name: p["used"] for name, p in stats["lwip"]["memp"].items()}
    u["HEAP"] = stats["lwip"]["mem"]["used"]
    return u


def wait_for_baseline(d, baseline, timeout=15):
    """Poll until every pool and the heap are back to BASELINE (a pool_usage
    dict); raise with the differences otherwise."""
    last = {}

    def back():
        nonlocal last
        now = pool_usage(d.stats())
        last = {k: (baseline.get(k), v) for k, v in now.items() if v != baseline.get(k)}
        return not last

    try:
        wait_for(back, timeout, "pools and heap back to baseline")
    except TimeoutError:
        try:  # the TCP PCBs by state say who holds what
            tcp = d.request({"cmd": "leaks"}, timeout=30).get("tcp")
        except (OSError, EOFError, ValueError, LwipdError) as e:
            tcp = "(leaks failed: %s)" % e
        raise AssertionError("not back to baseline after %ss (pool: (baseline, now)): %r; "
                             "TCP: %r" % (timeout, last, tcp))


# ---- the ISR heap re-entry load ----------------------------------------------------------

# The cable is pulled every 110-190 ms for 5-45 ms.
STORM_FLAP = ["--link-flap", "150:25:0:20"]
# An EMAC that interrupts once per frame, 20-70 us after the write (wire
# time): the interrupt lands at a random point of the stack's work, as on
# the board, instead of right after linkoutput().
STORM_EMAC = ["--txc-coalesce", "1", "--txc-delay-us", "20", "--txc-jitter-us", "50"]


class Storm:
    """lwipd under the ISR heap re-entry load: iperf2 into lwiperf, arping,
    link flaps."""

    def __init__(self, netns, workdir, binary, extra, seconds, pcap=True):
        self.ns = netns
        self.d = Daemon(netns, workdir, binary=binary, pcap=pcap,
                        extra_args=["--report-dir", workdir, "--events",
                                    os.path.join(workdir, "events.jsonl")] +
                        STORM_FLAP + STORM_EMAC + extra)
        self.seconds = seconds
        self.procs = []

    def __enter__(self):
        self.d.start()
        self.baseline = pool_usage(self.d.stats())
        self.t0 = time.monotonic()
        self.procs.append(self.ns.popen(["iperf", "-c", self.d.ip, "-t", str(int(self.seconds) + 5),
                                         "-i", "0"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        self.procs.append(self.ns.popen(["arping", "-q", "-c", str(int(self.seconds * 100) + 100),
                                         "-i", "0.01", "-I", self.ns.tap, self.d.ip],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def wait_exit(self, timeout):
        try:
            code = self.d.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, None
        return code, time.monotonic() - self.t0

    def stop_traffic(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()  # iperf2 may sit in a blocked send: no time for niceties
            p.wait(timeout=10)
        self.procs = []

    def __exit__(self, *exc):
        self.stop_traffic()
        self.d.stop()  # a no-op when it already stopped on a report
