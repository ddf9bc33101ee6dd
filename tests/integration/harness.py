# SPDX-License-Identifier: MIT
"""Test harness for lwipd: network namespaces, TAPs, the daemon, its control
socket, bounded polls and a pcap reader.

Network safety: everything runs inside namespaces this module creates, on
198.18.0.0/15, and every namespace is deleted again (also on failure).
"""
import ipaddress
import itertools
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "python"))
from lwipd import capture  # noqa: E402
BUILD = os.path.abspath(os.environ.get("LWIPD_BUILD", os.path.join(TOP, "build")))
LWIPD = os.path.join(BUILD, "daemon", "lwipd")
LWIPCTL = os.path.join(BUILD, "tools", "lwipctl")
HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")
REPORT = os.path.join(TOP, "tools", "lwipd-report")
PYTHON = "/usr/bin/python3"

HOST_IP = "198.18.0.1"
# The MSS the host announces on its TAP (MTU 1500): TCP through the TAP uses
# the smaller of this and lwIP's TCP_MSS.
HOST_MSS = 1460
LWIP_IP = "198.18.0.2"
SAFE_NET = ipaddress.ip_network("198.18.0.0/15")

# LWIPD_VALGRIND=1: every lwipd the fixtures start runs under valgrind's
# memcheck (tests/valgrind/lwipd.supp; errors make it exit with
# VALGRIND_EXIT, which the teardown reports), and waits stretch by TIME_SCALE.
VALGRIND = os.environ.get("LWIPD_VALGRIND", "") not in ("", "0")
VALGRIND_EXIT = 99
VALGRIND_SUPP = os.path.join(TOP, "tests", "valgrind", "lwipd.supp")
TIME_SCALE = float(os.environ.get("LWIPD_TIME_SCALE", "10" if VALGRIND else "1"))
# The host's carrier change against lwIP's link event (Netns.carrier_watch).
CARRIER_TOL = 0.05 * TIME_SCALE


def valgrind_wrapper(log_path):
    """The memcheck command line lwipd runs under with LWIPD_VALGRIND=1."""
    return ["valgrind", "--tool=memcheck", "--error-exitcode=%d" % VALGRIND_EXIT,
            "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--track-origins=yes", "--num-callers=30",
            "--suppressions=" + VALGRIND_SUPP, "--log-file=" + log_path]


_ns_counter = itertools.count()
_ctl_counter = itertools.count()


class HarnessError(Exception):
    pass


def check_safe(addr):
    """Refuse any address outside 198.18.0.0/15."""
    if ipaddress.ip_address(addr) not in SAFE_NET:
        raise HarnessError("address %s is outside 198.18.0.0/15" % addr)
    return addr


def wait_for(pred, timeout, what, interval=0.02):
    """Poll PRED until it returns a true value or TIMEOUT seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def run(cmd, timeout=30, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise HarnessError("%s failed (%d): %s %s" % (" ".join(cmd), r.returncode,
                                                      r.stdout.strip(), r.stderr.strip()))
    return r


class Netns:
    """A network namespace with a TAP (host side HOST_IP/24, IPv6 off)."""

    def __init__(self, tap="tap0", host_cidr=HOST_IP + "/24", mtu=None):
        self.name = "lwipd-t%d-%d" % (os.getpid(), next(_ns_counter))
        self.tap = tap
        self.host_cidr = host_cidr
        check_safe(host_cidr.split("/")[0])
        self.mtu = mtu
        self.created = False
        self.daemons = []  # every Lwipd made for this namespace (Lwipd.__init__)

    def create(self):
        run(["ip", "netns", "add", self.name])
        self.created = True
        self.run(["ip", "link", "set", "lo", "up"])
        self.add_tap()
        return self

    def add_tap(self):
        self.run(["ip", "tuntap", "add", "dev", self.tap, "mode", "tap"])
        # Keep the link quiet and the capture readable: no IPv6 chatter.
        self.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.tap])
        self.run(["ip", "addr", "add", self.host_cidr, "dev", self.tap])
        if self.mtu:
            self.run(["ip", "link", "set", self.tap, "mtu", str(self.mtu)])
        self.run(["ip", "link", "set", self.tap, "up"])

    def pids(self):
        r = run(["ip", "netns", "pids", self.name], check=False)
        return [int(p) for p in r.stdout.split()]

    def delete(self):
        """Stop whatever still runs in the namespace (all of it was started
        here), then delete it, and remove the control sockets of the lwipd
        made for it. Returns the PIDs that had to be killed."""
        left = []
        if self.created:
            left = self.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.02)
            run(["ip", "netns", "del", self.name], check=False)
            self.created = False
        for d in self.daemons:
            d.reap()
            d.remove_control()
        return left

    def cmd(self, cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def run(self, cmd, timeout=60, check=True):
        return run(self.cmd(cmd), timeout=timeout, check=check)

    def popen(self, cmd, **kw):
        return subprocess.Popen(self.cmd(cmd), **kw)

    def helper(self, name, *args, timeout=120, check=True):
        """Run tests/integration/helpers/NAME inside the namespace; parse the
        JSON it prints."""
        r = self.run([PYTHON, os.path.join(HELPERS, name)] + [str(a) for a in args],
                     timeout=timeout, check=check)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise HarnessError("helper %s printed no JSON: %r %r" % (name, r.stdout, r.stderr))

    def carrier(self):
        """The host's view of the TAP's carrier: True, False."""
        r = self.run(["cat", "/sys/class/net/%s/carrier" % self.tap], check=False)
        return r.stdout.strip() == "1"

    def carrier_watch(self, seconds):
        """Start watching the host's carrier of the TAP for SECONDS (the
        helper polls /sys every millisecond, which changes at once, unlike
        rate-limited netlink notifications) and return the process once it
        has taken its first sample: an edge after this cannot go unseen.
        communicate() gives its JSON: {"changes": [{"carrier", "ts"}]},
        CLOCK_REALTIME stamps (the events' clock).

        The watch runs under SCHED_FIFO, below lwipd's DMA thread's priority
        10: a normal process on a loaded machine wakes tens of milliseconds
        late and stamps an edge late by that much (CARRIER_TOL)."""
        watch = self.popen(["chrt", "-f", "5", PYTHON, os.path.join(HELPERS, "nettools.py"),
                            "carrier-watch", self.tap, str(seconds)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: select.select([watch.stderr], [], [], 0)[0], 10 * TIME_SCALE,
                 "the carrier watch's first sample")
        line = watch.stderr.readline()
        if line != "watching\n":
            raise HarnessError("carrier watch: %r (exit %s)" % (line, watch.poll()))
        return watch

    def link_show(self):
        return self.run(["ip", "link", "show", self.tap]).stdout


class Lwipd:
    """One lwipd process in a namespace, started through its ready line.

    Teardown evidence: with snapshot_at_stop set (the pytest fixtures set it
    for every instance, also those a test makes itself), stop() first writes
    `lwipctl stats` to stats-PID.json in the workdir, so a failed test keeps
    the counters of the moment it ended beside the log and the capture. The
    control socket the harness chose is removed when the namespace is
    deleted (Netns.delete(), after the test has looked), also when lwipd
    died uncleanly and left it behind."""

    snapshot_at_stop = False

    def __init__(self, ns, workdir, extra_args=(), ip=LWIP_IP + "/24", pcap=True,
                 binary=None, env=None, wrapper=None):
        self.ns = ns
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        # Unix socket paths are limited to 107 bytes: keep it short, in /tmp.
        self.control = "/tmp/lwipd-%s-%d.sock" % (ns.name, next(_ctl_counter))
        self.own_control = self.control  # removed at teardown (not what a test points to)
        self.snapshot = None  # stats-PID.json once stop() wrote it
        self.snapshot_error = None
        self.torn_down = False  # set by the fixture that has checked this one
        ns.daemons.append(self)
        self.pcap = os.path.join(workdir, "capture.pcap") if pcap else None
        self.log = os.path.join(workdir, "lwipd.log")
        check_safe(ip.split("/")[0])
        self.ip = ip.split("/")[0]
        self.args = ["--tap", ns.tap, "--ip", ip, "--control", self.control]
        if self.pcap:
            self.args += ["--pcap", self.pcap]
        self.args += list(extra_args)
        self.binary = binary or LWIPD
        self.env = env  # extra environment variables
        self.wrapper = list(wrapper or [])  # runs lwipd: setpriv, valgrind ...
        self.valgrind_log = None
        if VALGRIND:
            self.valgrind_log = os.path.join(workdir, "valgrind.log")
            # Writable whoever lwipd runs as (the privilege tests run it as
            # nobody in a directory nobody may not write to).
            with open(self.valgrind_log, "w"):
                pass
            os.chmod(self.valgrind_log, 0o666)
            self.wrapper += valgrind_wrapper(self.valgrind_log)
        self.proc = None
        self.ready = {}
        self.returncode = None
        self.expect_failure = False  # set by tests that make lwipd stop on purpose
        self.check_leaks = True  # teardown compares pools, heap and socket slots with the baseline
        # Socket slots (fds) a test made unusable on purpose and has checked
        # itself: the teardown's leak check accepts exactly these stuck.
        self.expect_stuck_slots = ()

    def start(self, timeout=15):
        timeout *= TIME_SCALE
        r, w = os.pipe()
        logf = open(self.log, "ab")
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        try:
            self.proc = self.ns.popen(self.wrapper + [self.binary] + self.args +
                                      ["--ready-fd", str(w)], env=env,
                                      pass_fds=[w], stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL,
                                      # Ctrl-C reaches the script, which stops lwipd by PID.
                                      start_new_session=True)
        finally:
            os.close(w)
            logf.close()
        line = b""
        deadline = time.monotonic() + timeout
        try:
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("lwipd not ready after %ss; log:\n%s" % (
                        timeout, self.read_log()))
                rd, _, _ = select.select([r], [], [], left)
                if not rd:
                    continue
                chunk = os.read(r, 512)
                if not chunk:
                    code = self.proc.wait(timeout=5)
                    raise HarnessError("lwipd exited (%s) before ready; log:\n%s" % (
                        code, self.read_log()))
                line += chunk
        finally:
            os.close(r)
        words = line.decode().split()
        if not words or words[0] != "READY":
            raise HarnessError("unexpected ready line %r" % line)
        self.ready = dict(w.split("=", 1) for w in words[1:])
        return self

    @property
    def pid(self):
        return self.proc.pid

    @property
    def mac(self):
        return self.ready["mac"]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_valgrind_log(self):
        if not self.valgrind_log:
            return ""
        try:
            with open(self.valgrind_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def request(self, req, timeout=10):
        """Send one request object on a fresh connection; return the response."""
        with ControlClient(self.control, timeout) as c:
            return c.request(req)

    def stats(self):
        resp = self.request({"cmd": "stats"})
        if not resp.get("ok"):
            raise HarnessError("stats failed: %r" % resp)
        return resp["stats"]

    def option(self, name):
        """lwIP's option NAME as this lwipd was built (`version`: TCP_MSS,
        MEMP_NUM_TCP_PCB, MEMP_NUM_NETCONN, ARP_TABLE_SIZE, ...), for tests
        that depend on a limit: not the default profile's value."""
        if not hasattr(self, "_options"):
            self._options = self.request({"cmd": "version"})["build"]["options"]
        return self._options[name]

    def lwip_version(self):
        """lwIP's version as a tuple, e.g. (2, 0, 3)."""
        return tuple(int(x) for x in self.request({"cmd": "version"})["build"]["lwip"].split("."))

    def wait_leaks_clean(self, timeout=10):
        """Poll `leaks` until lwIP's pools and heap are back to the baseline
        taken at ready and every socket slot is usable (except the stuck
        ones the test declared in expect_stuck_slots, which must then be
        exactly those). Returns (clean, last report).

        If that fails with fault rules still in place, they are cleared and
        the wait starts again: under loss a closing connection's FIN waits
        for lwIP's backed-off retransmission timer (1.5 s, then 3, 6, 12 s),
        and a FIN lost twice outlives a 10 s wait with its segment's pbuf
        still on lwIP's heap (seen in CI: 96 bytes after 10 MiB at 5 % loss
        both ways). Without the rules the next retransmission gets through;
        the second wait allows for the longest timer a few losses arm."""
        last = {}

        def clean():
            last.clear()
            last.update(self.request({"cmd": "leaks"}, timeout=30))
            if not last.get("ok"):
                raise HarnessError("leaks failed: %r" % last)
            if last["clean"] or not self.expect_stuck_slots:
                return last["clean"]
            leaked = dict(last["leaked"])
            return sorted(leaked.pop("stuck_socket_slots", [])) == sorted(
                self.expect_stuck_slots) and not leaked

        what = "lwIP's pools, heap and socket slots back to the baseline"
        try:
            wait_for(clean, timeout, what, interval=0.1)
            return True, last
        except TimeoutError:
            pass
        if not self.request({"cmd": "fault", "op": "list"}).get("rules"):
            return False, last
        resp = self.request({"cmd": "fault", "op": "clear"})
        if not resp.get("ok"):
            raise HarnessError("fault clear failed: %r" % resp)
        try:
            wait_for(clean, 40, what + " once the fault rules were cleared", interval=0.1)
        except TimeoutError:
            return False, last
        return True, last

    def lwipctl(self, *args, timeout=30, check=False):
        return run([LWIPCTL, "-s", self.control] + list(args), timeout=timeout, check=check)

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout=20):
        timeout *= TIME_SCALE
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def take_snapshot(self, timeout=3):
        """Write `stats` to stats-PID.json in the workdir; returns its path,
        or None (the reason in snapshot_error) when lwipd did not answer."""
        path = os.path.join(self.workdir, "stats-%d.json" % self.pid)
        try:
            with ControlClient(self.control, timeout * TIME_SCALE) as c:
                resp = c.request({"cmd": "stats"})
            if not resp.get("ok"):
                raise HarnessError("stats failed: %r" % resp)
            with open(path, "w") as f:
                json.dump(resp["stats"], f, indent=1)
        except (OSError, EOFError, ValueError, HarnessError) as e:  # the daemon may be what broke
            self.snapshot_error = "%s: %s" % (type(e).__name__, e)
            return None
        self.snapshot = path
        return path

    def stop(self, timeout=20):
        """Stats snapshot (snapshot_at_stop), SIGTERM and wait; SIGKILL if it
        does not stop. Returns the exit code. (The control socket is lwipd's
        to remove at exit, which tests check; Netns.delete() removes what an
        unclean exit left.)"""
        timeout *= TIME_SCALE
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if self.snapshot_at_stop:
                self.take_snapshot()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        return self.returncode

    def reap(self):
        """Collect the exit status of a process that was killed by others
        (Netns.delete()); None if it was never started or still runs."""
        if self.proc is not None and self.returncode is None:
            try:
                self.returncode = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        return self.returncode

    def remove_control(self):
        """Remove the control socket the harness chose, once nothing of ours
        can be listening on it (lwipd removes it on a clean exit, not when
        it is killed or dies on a fault). Not a socket the test pointed
        lwipd to instead (self.control): that may be another lwipd's."""
        if self.alive():
            return
        try:
            if stat.S_ISSOCK(os.lstat(self.own_control).st_mode):
                os.unlink(self.own_control)
        except FileNotFoundError:
            pass

    def artifacts(self):
        """{what: path} of what this lwipd left in its workdir."""
        out = {"log": self.log}
        if self.pcap:
            out["capture"] = self.pcap
        if self.snapshot:
            out["stats"] = self.snapshot
        if self.valgrind_log:
            out["valgrind"] = self.valgrind_log
        return {k: v for k, v in out.items() if os.path.exists(v)}


class ControlClient:
    """A connection to the control socket: JSON lines."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("control connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, req):
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.read_line()


# ---- pcap --------------------------------------------------------------------
# The reader and the TCP dissector are the lwipd Python module's
# (python/lwipd/capture.py), shared with lwipd-report.

def read_pcap(path):
    """[(ts_seconds_float, bytes)] from one capture file: classic pcap (us
    or ns) or pcapng."""
    try:
        return [(f.ts, f.data) for f in capture.read_frames(path)]
    except capture.CaptureError as e:
        raise HarnessError(str(e))


TCP_SACK_PERM, TCP_SACK = capture.TCP_SACK_PERM, capture.TCP_SACK
tcp_segments = capture.tcp_segments


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


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def expects_garp_on_link_up(status):
    """lwIP sends a gratuitous ARP for a static address on link up, except
    2.2+ built with LWIP_ACD (ACD then announces only the addresses it
    manages: DHCP and AutoIP)."""
    return not status["build"]["options"].get("LWIP_ACD", 0)


def is_icmp_echo_reply(frame):
    return (len(frame) >= 35 and frame[12:14] == b"\x08\x00" and frame[23] == 1 and
            frame[14 + (frame[14] & 0x0F) * 4] == 0)


def is_gratuitous_arp(frame, ip):
    """An ARP frame whose sender and target IP are both IP (request or reply)."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return False
    spa = socket.inet_aton(ip)
    return frame[28:32] == spa and frame[38:42] == spa


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


# ---- variant builds ----------------------------------------------------------

_VARIANT_OPTS = ("b_sanitize", "b_lundef", "c_args", "buildtype")
# What the build under test was made from: a test's own build uses the same.
_TREE_OPTS = ("lwip_src", "lwipopts_dir")
_build_options = None


def build_options():
    """{meson option: value} of the build under test (BUILD), from meson's
    introspection (read once)."""
    global _build_options
    if _build_options is None:
        intro = run(["meson", "introspect", "--buildoptions", BUILD], timeout=60)
        _build_options = {o["name"]: o["value"] for o in json.loads(intro.stdout)}
    return _build_options


_lwip_options = None


def lwip_options():
    """{lwIP option: int} of the lwipd under test, as `lwipd --version`
    prints them (daemon/buildinfo.c: the limits and feature switches tests
    depend on; read once)."""
    global _lwip_options
    if _lwip_options is None:
        out = run([LWIPD, "--version"], timeout=30).stdout
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
    sanitizer and compiler options, so that the sanitizer suite tests
    sanitized variants and the version matrix that version's variants.
    Returns the path of the lwipd binary."""
    out = os.path.join(BUILD, "variants", name)
    binary = os.path.join(out, "daemon", "lwipd")
    if not os.path.exists(os.path.join(out, "build.ninja")):
        inherited = []
        for opt, v in build_options().items():
            if opt in _VARIANT_OPTS:
                if isinstance(v, list):
                    v = ",".join(v)
                inherited.append("-D%s=%s" % (opt, v))
        opts = inherited + ["-Dtests=disabled"] + tree_opts()
        r = run(["meson", "setup", out] + opts + list(meson_opts), cwd=TOP, timeout=300,
                check=False)
        if r.returncode != 0:
            raise HarnessError("meson setup %s failed: %s %s" % (name, r.stdout[-2000:], r.stderr))
    r = run(["ninja", "-C", out, "daemon/lwipd"], timeout=900, check=False)
    if r.returncode != 0:
        raise HarnessError("building variant %s failed: %s" % (name, r.stdout[-3000:]))
    return binary


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
        except (OSError, EOFError, ValueError, HarnessError) as e:
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
        self.d = Lwipd(netns, workdir, binary=binary, pcap=pcap,
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
