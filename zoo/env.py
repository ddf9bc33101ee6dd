# SPDX-License-Identifier: MIT
"""What a scenario gets: one lwipd build in a fresh network namespace, an
evidence directory, and the calls of the scenario interface (ZOO.md)."""
import glob
import json
import os
import subprocess
import sys

from lwipd import testing as harness


class Env:
    """One variant run. The runner creates it, calls the scenario's run(env)
    and always calls teardown()."""

    def __init__(self, entry, variant, build, evidence_dir, progress):
        self.entry = entry
        self.variant = variant
        self.version = variant["version"]
        self.role = variant["role"]
        self.label = variant["label"]
        self.build = build.dir
        self.binaries = build
        self.dir = evidence_dir
        self._progress = progress
        self.daemons = []
        self.d = None
        self.ns = harness.Netns()
        self.ns.create()

    # ---- the scenario interface ---------------------------------------------

    def log(self, msg):
        self._progress("%s: %s: %s" % (self.entry["id"], self.label, msg))

    def start(self, extra_args=(), wait_ready=True, timeout=15):
        """Start lwipd (the variant's build and arguments plus EXTRA_ARGS)
        with its capture, events log, log file and crash reports in
        env.dir. A second start (after the first daemon exited) gets
        capture-2.pcap, events-2.jsonl; the log is appended to. With
        --dhcp among the arguments, the harness's static --ip is left out."""
        if self.d is not None and self.d.alive():
            raise harness.HarnessError(
                "lwipd is still running: stop it before starting again")
        n = len(self.daemons) + 1
        suffix = "" if n == 1 else "-%d" % n
        pcap = os.path.join(self.dir, "capture%s.pcap" % suffix)
        events = os.path.join(self.dir, "events%s.jsonl" % suffix)
        args = ["--pcap", pcap, "--events", events, "--report-dir", self.dir]
        args += list(self.variant["args"]) + list(extra_args)
        d = harness.Lwipd(self.ns, self.dir, extra_args=args, pcap=False,
                          binary=self.binaries.lwipd)
        if "--dhcp" in args:  # lwipd takes exactly one of --ip and --dhcp
            i = d.args.index("--ip")
            del d.args[i:i + 2]
        d.snapshot_at_stop = True  # stats-PID.json when the runner stops it
        d.pcap = pcap
        self.daemons.append(d)
        self.d = d
        self.log("starting lwipd %s" % " ".join(args))
        if wait_ready:
            d.start(timeout=timeout)
        else:
            logf = open(d.log, "ab")
            try:
                d.proc = self.ns.popen(
                    [d.binary] + d.args, stdout=logf, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            finally:
                logf.close()
        return d

    def ctl(self, cmd, timeout=10, **fields):
        """One control request; returns the response object."""
        req = {"cmd": cmd}
        req.update(fields)
        return self._daemon().request(req, timeout=timeout)

    def stats(self):
        return self._daemon().stats()

    def lwipctl(self, *args, timeout=30):
        """Run this build's lwipctl against the current daemon."""
        return harness.run(
            [self.binaries.lwipctl, "-s", self._daemon().control] + list(args),
            timeout=timeout, check=False)

    def crash_reports(self):
        out = []
        for path in sorted(
                glob.glob(os.path.join(self.dir, "lwipd-crash-*.json"))):
            with open(path) as f:
                rep = json.load(f)
            rep["_path"] = path
            out.append(rep)
        return out

    def exited(self):
        """The current daemon's exit code, or None while it runs."""
        d = self._daemon()
        code = d.proc.poll()
        if code is not None:
            d.returncode = code
        return code

    def outcome(self, bad, summary, evidence=None):
        return {"bad": bool(bad), "summary": str(summary),
                "evidence": dict(evidence or {})}

    # ---- runner side -------------------------------------------------------

    def _daemon(self):
        if self.d is None:
            raise harness.HarnessError("no lwipd started yet (env.start())")
        return self.d

    def teardown(self):
        """Stop every daemon (a stats snapshot first if it still answers),
        delete the namespace. Returns {what: detail} worth recording."""
        out = {}
        for d in self.daemons:
            try:
                if d.proc is not None:
                    code = d.stop()
                    out.setdefault("exit_codes", []).append(code)
            except Exception as e:  # keep tearing down
                out.setdefault(
                    "teardown_errors",
                    []).append(
                    "%s: %s" %
                    (type(e).__name__,
                     e))
        left = self.ns.delete()
        if left:
            out["killed_pids"] = left
        return out


def progress_to_stderr(msg):
    sys.stderr.write("zoo: %s\n" % msg)
    sys.stderr.flush()
