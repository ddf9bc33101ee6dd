# SPDX-License-Identifier: MIT
"""Network namespaces with a TAP, and running commands in them.

Network safety: everything runs inside namespaces this module creates, on
198.18.0.0/15, and every namespace is deleted again (also on failure:
use Namespace as a context manager, or call delete())."""
import ipaddress
import itertools
import json
import os
import select
import signal
import subprocess
import time

from .config import PYTHON, TIME_SCALE, LwipdError
from .waiting import wait_for

SAFE_NET = ipaddress.ip_network("198.18.0.0/15")
# The addresses of the project's own tests (fixed; the pytest plugin's
# fixture gives each test a /24 of its own instead: unique_subnet()).
HOST_IP = "198.18.0.1"
LWIP_IP = "198.18.0.2"
# The MSS the host announces on its TAP (MTU 1500).
HOST_MSS = 1460
# The host's carrier change against lwIP's link event (carrier_watch()).
CARRIER_TOL = 0.05 * TIME_SCALE

# Directories Namespace.helper() looks in, in order: this package's own
# tools (nettools.py) first; a test suite may append its own.
HELPER_DIRS = [os.path.dirname(os.path.abspath(__file__))]

_ns_counter = itertools.count()
_subnet_counter = itertools.count()


def check_safe(addr):
    """Refuse any address outside 198.18.0.0/15; returns ADDR."""
    if ipaddress.ip_address(addr) not in SAFE_NET:
        raise LwipdError("address %s is outside 198.18.0.0/15" % addr)
    return addr


def unique_subnet():
    """(host address, lwipd address) in a /24 of 198.18.0.0/15 that no other
    call in this process returned and that other processes (pytest -n
    workers) are unlikely to pick: the 512 /24s are dealt out from a
    starting point drawn from the PID. (The namespaces keep them apart in
    any case.)"""
    n = (os.getpid() * 37 + next(_subnet_counter)) % 511 + 1
    net = ipaddress.ip_network("198.18.0.0/24")
    base = int(net.network_address) + (n << 8)
    return str(ipaddress.ip_address(base + 1)), str(ipaddress.ip_address(base + 2))


def helper_path(name):
    """The path of helper script NAME, from the first of HELPER_DIRS that
    has it."""
    for d in HELPER_DIRS:
        path = os.path.join(d, name)
        if os.path.exists(path):
            return path
    raise LwipdError("helper %s not found in %s" % (name, HELPER_DIRS))


def run(cmd, timeout=30, check=True, **kw):
    """subprocess.run() with text output captured; LwipdError when CHECK and
    the command fails."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise LwipdError("%s failed (%d): %s %s" % (" ".join(cmd), r.returncode,
                                                    r.stdout.strip(), r.stderr.strip()))
    return r


class Namespace:
    """A network namespace with a TAP (host side HOST_CIDR, IPv6 off).

        with Namespace() as ns:
            ns.run(["ip", "addr"])

    Every Daemon made for it is listed in .daemons; delete() kills what
    still runs in the namespace and removes their control sockets."""

    def __init__(self, tap="tap0", host_cidr=HOST_IP + "/24", mtu=None):
        self.name = "lwipd-t%d-%d" % (os.getpid(), next(_ns_counter))
        self.tap = tap
        self.host_cidr = host_cidr
        self.host_ip = check_safe(host_cidr.split("/")[0])
        self.mtu = mtu
        self.created = False
        self.daemons = []  # every Daemon made for this namespace

    def __enter__(self):
        if not self.created:
            self.create()
        return self

    def __exit__(self, *exc):
        self.delete()

    def create(self):
        run(["ip", "netns", "add", self.name])
        self.created = True
        try:
            self.run(["ip", "link", "set", "lo", "up"])
            self.add_tap()
        except BaseException:
            self.delete()
            raise
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
        here), then delete it, and remove the control sockets of the
        daemons made for it. Returns the PIDs that had to be killed."""
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
        return ["ip", "netns", "exec", self.name] + [str(c) for c in cmd]

    def run(self, cmd, timeout=60, check=True):
        return run(self.cmd(cmd), timeout=timeout, check=check)

    def popen(self, cmd, **kw):
        return subprocess.Popen(self.cmd(cmd), **kw)

    def helper_path(self, name):
        return helper_path(name)

    def helper(self, name, *args, timeout=120, check=True):
        """Run helper script NAME (nettools.py, or one in a directory added
        to HELPER_DIRS) inside the namespace; parse the JSON it prints."""
        r = self.run([PYTHON, self.helper_path(name)] + [str(a) for a in args],
                     timeout=timeout, check=check)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise LwipdError("helper %s printed no JSON: %r %r" % (name, r.stdout, r.stderr))

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
        watch = self.popen(["chrt", "-f", "5", PYTHON, self.helper_path("nettools.py"),
                            "carrier-watch", self.tap, str(seconds)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: select.select([watch.stderr], [], [], 0)[0], 10 * TIME_SCALE,
                 "the carrier watch's first sample")
        line = watch.stderr.readline()
        if line != "watching\n":
            raise LwipdError("carrier watch: %r (exit %s)" % (line, watch.poll()))
        return watch

    def link_show(self):
        return self.run(["ip", "link", "show", self.tap]).stdout
