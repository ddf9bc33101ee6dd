# SPDX-License-Identifier: MIT
"""One lwipd process in a Namespace, and its control socket.

    with Namespace() as ns, Daemon(ns) as d:
        print(d.ctl("status")["ip"])

Daemon starts lwipd through its ready line (--ready-fd) and stops it with
SIGTERM; the control client speaks the JSON-lines protocol of lwipctl(1)."""
import itertools
import json
import os
import select
import signal
import socket
import stat
import subprocess
import tempfile
import time

from . import capture as capture_mod
from . import config
from .config import TIME_SCALE, VALGRIND, VALGRIND_EXIT, LwipdError
from .netns import LWIP_IP, check_safe, run
from .waiting import wait_for

_ctl_counter = itertools.count()


class ControlError(LwipdError):
    """The daemon answered a control request with an error: .answer holds
    the whole answer ({"ok": false, "error": ...})."""

    def __init__(self, request, answer):
        super().__init__("%s: %s" % (request.get("cmd"), answer.get("error", answer)))
        self.request = request
        self.answer = answer


class ControlClient:
    """A connection to lwipd's control socket: one JSON object a line."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
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


def valgrind_wrapper(log_path):
    """The memcheck command line lwipd runs under with LWIPD_VALGRIND=1
    (suppressions: $LWIPD_VALGRIND_SUPP, else tests/valgrind/lwipd.supp of
    the build's source tree when there is one)."""
    supp = os.environ.get("LWIPD_VALGRIND_SUPP")
    if not supp and config.source_dir():
        supp = os.path.join(config.source_dir(), "tests", "valgrind", "lwipd.supp")
    return ["valgrind", "--tool=memcheck", "--error-exitcode=%d" % VALGRIND_EXIT,
            "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--track-origins=yes", "--num-callers=30"] + (
                ["--suppressions=" + supp] if supp else []) + ["--log-file=" + log_path]


class Daemon:
    """One lwipd process in namespace NS, its files in WORKDIR (a new
    temporary directory if None): lwipd.log, capture.pcap (PCAP), and what
    stop() and the teardown checks add.

    With snapshot_at_stop set (the pytest plugin sets it), stop() first
    writes `stats` to stats-PID.json in the workdir, so a failed test keeps
    the counters of the moment it ended. The control socket the harness
    chose is removed when the namespace is deleted, also when lwipd died
    uncleanly and left it behind."""

    snapshot_at_stop = False

    def __init__(self, ns, workdir=None, extra_args=(), ip=None, pcap=True,
                 binary=None, env=None, wrapper=None):
        self.ns = ns
        self.workdir = workdir or tempfile.mkdtemp(prefix="lwipd-")
        os.makedirs(self.workdir, exist_ok=True)
        # Unix socket paths are limited to 107 bytes: keep it short, in /tmp.
        self.control = "/tmp/lwipd-%s-%d.sock" % (ns.name, next(_ctl_counter))
        self.own_control = self.control  # removed at teardown (not what a test points to)
        self.snapshot = None  # stats-PID.json once stop() wrote it
        self.snapshot_error = None
        self.torn_down = False  # set by the fixture that has checked this one
        ns.daemons.append(self)
        self.pcap = os.path.join(self.workdir, "capture.pcap") if pcap else None
        self.log = os.path.join(self.workdir, "lwipd.log")
        if ip is None:
            ip = (LWIP_IP if ns.host_ip == "198.18.0.1" else
                  ns.host_ip.rsplit(".", 1)[0] + ".2") + "/24"
        check_safe(ip.split("/")[0])
        self.ip = ip.split("/")[0]
        self.args = ["--tap", ns.tap, "--ip", ip, "--control", self.control]
        if self.pcap:
            self.args += ["--pcap", self.pcap]
        self.args += [str(a) for a in extra_args]
        self.binary = binary or config.binary("lwipd")
        self.env = env  # extra environment variables
        self.wrapper = list(wrapper or [])  # runs lwipd: setpriv, valgrind ...
        self.valgrind_log = None
        if VALGRIND:
            self.valgrind_log = os.path.join(self.workdir, "valgrind.log")
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

    # ---- life cycle ---------------------------------------------------------

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=15):
        """Start lwipd and wait for its ready line (TIMEOUT s, scaled by
        TIME_SCALE); LwipdError with the log when it exits or is not ready
        in time. Returns self."""
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
        try:
            line = self._read_ready(r, timeout)
        finally:
            os.close(r)
        words = line.decode().split()
        if not words or words[0] != "READY":
            raise LwipdError("unexpected ready line %r" % line)
        self.ready = dict(w.split("=", 1) for w in words[1:])
        return self

    def _read_ready(self, fd, timeout):
        line = b""
        deadline = _now() + timeout
        while not line.endswith(b"\n"):
            left = deadline - _now()
            if left <= 0:
                raise LwipdError("lwipd not ready after %ss; log:\n%s" % (
                    timeout, self.read_log()))
            rd, _, _ = select.select([fd], [], [], left)
            if not rd:
                continue
            chunk = os.read(fd, 512)
            if not chunk:
                code = self.proc.wait(timeout=5)
                raise LwipdError("lwipd exited (%s) before ready; log:\n%s" % (
                    code, self.read_log()))
            line += chunk
        return line

    @property
    def pid(self):
        return self.proc.pid

    @property
    def mac(self):
        return self.ready["mac"]

    @property
    def address(self):
        """lwIP's IPv4 address."""
        return self.ip

    @property
    def host_address(self):
        """The host's address on the TAP."""
        return self.ns.host_ip

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout=20):
        self.returncode = self.proc.wait(timeout=timeout * TIME_SCALE)
        return self.returncode

    def stop(self, timeout=20):
        """Stats snapshot (snapshot_at_stop), SIGTERM and wait; SIGKILL if it
        does not stop. Returns the exit code. (The control socket is lwipd's
        to remove at exit; Namespace.delete() removes what an unclean exit
        left.)"""
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
        (Namespace.delete()); None if it was never started or still runs."""
        if self.proc is not None and self.returncode is None:
            try:
                self.returncode = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        return self.returncode

    def remove_control(self):
        """Remove the control socket the harness chose, once nothing of ours
        can be listening on it. Not a socket the test pointed lwipd to
        instead (self.control): that may be another lwipd's."""
        if self.alive():
            return
        try:
            if stat.S_ISSOCK(os.lstat(self.own_control).st_mode):
                os.unlink(self.own_control)
        except FileNotFoundError:
            pass

    # ---- files --------------------------------------------------------------

    def _read(self, path):
        if not path:
            return ""
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def read_log(self):
        return self._read(self.log)

    def read_valgrind_log(self):
        return self._read(self.valgrind_log)

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

    def capture(self, timeout=2):
        """The capture so far (capture.Capture: packets with direction, time,
        lwipd's comments and scapy layers). lwipd flushes its capture every
        100 ms: while it runs, this waits (at most TIMEOUT s) until the file
        holds every frame its `stats` counted when called (not after a
        rotation, which may have removed old files); then it returns what
        the file holds."""
        if not self.pcap:
            raise LwipdError("this lwipd runs without a capture (pcap=False)")
        mac = self.ready.get("mac")
        if not self.alive():
            return capture_mod.load(self.pcap, mac)
        counted = self.stats().get("capture", {})
        want = counted.get("frames", 0) if not counted.get("rotations") else 0
        got = []

        def complete():
            got[:] = [capture_mod.load(self.pcap, mac)]
            return len(got[0]) >= want

        try:
            wait_for(complete, timeout * TIME_SCALE, "the capture flushed", interval=0.05)
        except TimeoutError:
            pass
        return got[0]

    # ---- the control socket -------------------------------------------------

    def request(self, req, timeout=10):
        """Send one request object on a fresh connection; return the answer
        as it came (errors included)."""
        with ControlClient(self.control, timeout) as c:
            return c.request(req)

    def ctl(self, cmd, timeout=10, **fields):
        """Control command CMD with FIELDS (`ctl("link", state="down")`);
        returns the answer, raises ControlError on an error answer."""
        req = dict(fields, cmd=cmd)
        resp = self.request(req, timeout=timeout)
        if not resp.get("ok"):
            raise ControlError(req, resp)
        return resp

    def lwipctl(self, *args, timeout=30, check=False):
        """Run lwipctl(1) against this lwipd; the CompletedProcess."""
        return run([config.binary("lwipctl"), "-s", self.control] + [str(a) for a in args],
                   timeout=timeout, check=check)

    def stats(self):
        resp = self.request({"cmd": "stats"})
        if not resp.get("ok"):
            raise ControlError({"cmd": "stats"}, resp)
        return resp["stats"]

    def status(self):
        return self.ctl("status")

    def link(self, up):
        """Plug (UP true) or pull the cable; returns the answer."""
        return self.ctl("link", state="up" if up else "down")

    def fault(self, rule):
        """Add fault rule RULE (lwipd(8)'s syntax); returns its id."""
        return self.ctl("fault", op="add", rule=rule)["rule_id"]

    def events(self, type_=None, count=1000):
        """The recent events (at most COUNT), oldest first; of TYPE_ only if
        given."""
        evs = self.ctl("events", count=count)["events"]
        return [e for e in evs if type_ is None or e.get("type") == type_]

    def option(self, name):
        """lwIP's option NAME as this lwipd was built (`version`: TCP_MSS,
        MEMP_NUM_TCP_PCB, ...), for tests that depend on a limit."""
        if not hasattr(self, "_options"):
            self._options = self.request({"cmd": "version"})["build"]["options"]
        return self._options[name]

    def lwip_version(self):
        """lwIP's version as a tuple, e.g. (2, 0, 3)."""
        return tuple(int(x) for x in self.request({"cmd": "version"})["build"]["lwip"].split("."))

    def take_snapshot(self, timeout=3):
        """Write `stats` to stats-PID.json in the workdir; returns its path,
        or None (the reason in snapshot_error) when lwipd did not answer."""
        path = os.path.join(self.workdir, "stats-%d.json" % self.pid)
        try:
            with ControlClient(self.control, timeout * TIME_SCALE) as c:
                resp = c.request({"cmd": "stats"})
            if not resp.get("ok"):
                raise LwipdError("stats failed: %r" % resp)
            with open(path, "w") as f:
                json.dump(resp["stats"], f, indent=1)
        except (OSError, EOFError, ValueError, LwipdError) as e:  # the daemon may be what broke
            self.snapshot_error = "%s: %s" % (type(e).__name__, e)
            return None
        self.snapshot = path
        return path

    def wait_leaks_clean(self, timeout=10):
        """Poll `leaks` until lwIP's pools and heap are back to the baseline
        taken at ready and every socket slot is usable (except the stuck
        ones declared in expect_stuck_slots, which must then be exactly
        those). Returns (clean, last report).

        If that fails with fault rules still in place, they are cleared and
        the wait starts again: under loss a closing connection's FIN waits
        for lwIP's backed-off retransmission timer (1.5 s, then 3, 6, 12 s),
        and a FIN lost twice outlives a 10 s wait with its segment's pbuf
        still on lwIP's heap. Without the rules the next retransmission gets
        through; the second wait allows for the longest timer a few losses
        arm."""
        last = {}

        def clean():
            last.clear()
            last.update(self.request({"cmd": "leaks"}, timeout=30))
            if not last.get("ok"):
                raise LwipdError("leaks failed: %r" % last)
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
            raise LwipdError("fault clear failed: %r" % resp)
        try:
            wait_for(clean, 40, what + " once the fault rules were cleared", interval=0.1)
        except TimeoutError:
            return False, last
        return True, last

    # ---- the host side ------------------------------------------------------

    def run(self, cmd, timeout=60, check=True):
        """Run CMD in the namespace (the host side of the TAP)."""
        return self.ns.run(cmd, timeout=timeout, check=check)

    def popen(self, cmd, **kw):
        """Start CMD in the namespace; the Popen."""
        return self.ns.popen(cmd, **kw)

    def wait_for(self, pred, timeout, what="the condition", interval=0.02):
        """Poll PRED (bounded; TIMEOUT scaled by TIME_SCALE)."""
        return wait_for(pred, timeout * TIME_SCALE, what, interval)

    def iperf3(self, *args, port=5201, timeout=120):
        """Run the host's iperf3 as a client against lwipd's iperf3 server
        (lwipd --iperf3) with ARGS (e.g. "-t", "2", "-R"); returns its -J
        JSON. LwipdError when iperf3 fails."""
        r = self.ns.run(["iperf3", "-c", self.ip, "-p", str(port), "-J"] + [str(a) for a in args],
                        timeout=timeout * TIME_SCALE, check=False)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise LwipdError("iperf3 printed no JSON (%d): %s" % (r.returncode, r.stderr))
        if r.returncode != 0 or out.get("error"):
            raise LwipdError("iperf3 failed (%d): %s" % (r.returncode, out.get("error")))
        return out


_now = time.monotonic
