#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lwipd benchmark: lwipd next to the TAP limit, measured side by side in one
run (scripts/bench runs this). Prints a short table on stderr and one JSON
document on stdout: medians of --runs samples, the samples, the ratios and
its targets.

  relay      kernel -> TAP -> tap-relay (one thread, epoll) -> TAP -> kernel,
             iperf3 forward and reverse: what moving MTU-sized frames through
             TAP costs on this machine
  lwipd      host -> lwIP (iperf3), lwIP -> host (-R), -P 4, UDP at the
             highest rate with < 1 % loss (a search of 1 s runs, then --runs
             runs at the rate found, whose median must pass too: if it does
             not, the rate steps down and they run again; the JSON's "udp"
             records each step), lwIP's own lwiperf (iperf2)
  ping       100 pings, 10 ms apart, to lwipd and to the kernel across the relay
  cost       lwipd's CPU seconds per GB moved, peak RSS
  churn      TCP connections per second, connect+close and connect+1-byte
             echo+close, against lwIP's raw API, lwIP's sockets API and the
             kernel across the relay (scripts/bench_churn.py)

Rounds interleave the measurements, so a noisy neighbour hits all of them.
Network safety: three namespaces this script creates, 198.18.0.0/15 only,
every load bounded by iperf3's own -t and a timeout, everything removed at
exit (also on Ctrl-C and SIGTERM); only processes started here are stopped,
by PID.
"""
import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "python"))  # the lwipd package, from this tree
from lwipd import testing as harness  # noqa: E402
import bench_churn  # noqa: E402

RELAY_A, RELAY_B = "198.18.1.1", "198.18.1.2"
CLK_TCK = os.sysconf("SC_CLK_TCK")
UDP_MAX_LOSS = 1.0   # percent: a UDP rate passes under this loss...
UDP_MIN_DELIVERED = 0.9  # ...if this share of it arrives (the host may not send it all)
UDP_STEP_DOWN = 0.8  # the rate's next try when its confirmation runs fail
UDP_MAX_STEPS_DOWN = 3


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Relay:
    """Two namespaces, each with a TAP, joined by tools/tap-relay."""

    def __init__(self, build, tag):
        self.build = build
        self.ns = ["lwipd-b%s-a" % tag, "lwipd-b%s-b" % tag]
        self.created = []
        self.relay = None
        self.server = None

    def run(self, ns, cmd, **kw):
        return harness.run(["ip", "netns", "exec", ns] + cmd, **kw)

    def start(self):
        for ns, addr in zip(self.ns, (RELAY_A, RELAY_B)):
            harness.check_safe(addr)
            harness.run(["ip", "netns", "add", ns])
            self.created.append(ns)
            self.run(ns, ["ip", "link", "set", "lo", "up"])
            self.run(ns, ["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"])
            self.run(ns, ["sysctl", "-qw", "net.ipv6.conf.tap0.disable_ipv6=1"])
            self.run(ns, ["ip", "addr", "add", addr + "/24", "dev", "tap0"])
            self.run(ns, ["ip", "link", "set", "tap0", "up"])
        self.relay = subprocess.Popen(
            [os.path.join(self.build, "tools", "tap-relay"), self.ns[0] + ":tap0",
             self.ns[1] + ":tap0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.relay.stdout.readline().strip()
        if line != "READY":
            raise harness.HarnessError("tap-relay did not start: %r %s" % (
                line, self.relay.stderr.read()))
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[1], "iperf3", "-s", "-B", RELAY_B],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        listening = ["ss", "-Hltn", "sport", "=", ":5201"]
        harness.wait_for(lambda: "5201" in self.run(self.ns[1], listening, check=False).stdout,
                         10, "iperf3 -s behind the relay")
        # ARP both ways before measuring anything
        harness.wait_for(lambda: self.run(self.ns[0], ["ping", "-c", "1", "-W", "1", RELAY_B],
                                          check=False).returncode == 0, 10, "the relay path")
        return self

    def stop(self):
        stats = None
        for p in (self.server, self.relay):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.relay and self.relay.stdout:
            try:
                stats = json.loads(self.relay.stdout.read() or "null")
            except ValueError:
                stats = None
        for ns in self.created:
            harness.run(["ip", "netns", "del", ns], check=False)
        self.created = []
        return stats


def iperf3(netns_cmd, host, args, seconds):
    """One iperf3 -J client run; the receiver's figures."""
    harness.check_safe(host)
    cmd = netns_cmd + ["timeout", str(int(seconds) + 30), "iperf3", "-c", host, "-J",
                       "-t", str(seconds)] + [str(a) for a in args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=seconds + 60)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return {"error": "no JSON: %s" % (r.stderr.strip() or r.stdout[-200:])}
    if "error" in j:
        return {"error": j["error"]}
    e = j["end"]
    rc = e["sum_received"]
    out = {"gbps": rc["bits_per_second"] / 1e9, "bytes": rc["bytes"], "seconds": rc["seconds"]}
    if "sum" in e:
        out["lost_percent"] = e["sum"]["lost_percent"]
        out["sent_gbps"] = e["sum_sent"]["bits_per_second"] / 1e9
    return out


def udp_good(lost_percent, gbps, rate):
    """The one definition of a good UDP rate, for the search and the
    confirmation runs alike: < 1 % lost and the offered rate delivered."""
    return lost_percent < UDP_MAX_LOSS and gbps * 1e9 >= UDP_MIN_DELIVERED * rate


def udp_confirm(udp, rate, runs, seconds, errors, run):
    """RUNS runs of RUN(rate) (one iperf3 -u run, as iperf3() returns it)
    at RATE, the rate the search found: if their median fails udp_good(),
    the rate steps down by UDP_STEP_DOWN, at most UDP_MAX_STEPS_DOWN times.
    Every step goes to UDP["confirmation"]; UDP["rate_mbps"] and
    ["confirmed"] are set only for a rate that passed. Returns that rate's
    (received Gbit/s, lost %) samples, ([], []) when none passed."""
    while len(udp["confirmation"]) <= UDP_MAX_STEPS_DOWN:
        log("UDP at %d Mbit/s: %d run(s) of %d s" % (rate / 1e6, runs, seconds))
        gbps, loss = [], []
        for _ in range(runs):
            r = run(rate)
            if "error" in r:
                errors.append("udp: %s" % r["error"])
                continue
            gbps.append(r["gbps"])
            loss.append(r["lost_percent"])
        step = {"rate_mbps": rate / 1e6, "seconds": seconds, "received_gbps": gbps,
                "lost_percent": loss, "median_received_gbps": med(gbps),
                "median_lost_percent": med(loss)}
        step["passed"] = bool(gbps) and udp_good(step["median_lost_percent"],
                                                 step["median_received_gbps"], rate)
        udp["confirmation"].append(step)
        udp["steps_down"] = len(udp["confirmation"]) - 1
        if step["passed"]:
            udp.update(rate_mbps=rate / 1e6, confirmed=True)
            return gbps, loss
        if not gbps:
            break  # every run failed: the errors say why
        log("UDP at %d Mbit/s: median loss %.2f %%, received %.3f Gbit/s: %s" % (
            rate / 1e6, step["median_lost_percent"], step["median_received_gbps"],
            "stepping down" if len(udp["confirmation"]) <= UDP_MAX_STEPS_DOWN else "giving up"))
        rate = int(rate * UDP_STEP_DOWN / 1e6) * 1e6
    return [], []


def tap_mtu(ns, dev="tap0"):
    """DEV's MTU as the kernel in namespace NS has it (read back, not assumed)."""
    r = harness.run(["ip", "netns", "exec", ns, "ip", "-j", "link", "show", "dev", dev])
    return json.loads(r.stdout)[0]["mtu"]


def build_info(binary):
    """What `lwipd --version` says of the build: {"lwipd", "lwIP", "heap",
    "lwipopts", "sanitizers"} (the lines "key: value" and the two version
    lines), so the JSON says which lwipopts and heap were measured."""
    r = harness.run([binary, "--version"], check=False)
    info = {}
    for line in r.stdout.splitlines():
        if line.startswith(" "):
            continue  # the lwIP options, listed one per line
        k, sep, v = line.partition(": ")
        if sep:
            info[k] = v
        elif " " in line:
            k, v = line.split(" ", 1)
            info[k] = v
    if r.returncode != 0 or "lwipopts" not in info or "heap" not in info:
        raise harness.HarnessError("%s --version: %r %r" % (binary, r.stdout, r.stderr))
    return info


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="samples per measurement (>= 5)")
    ap.add_argument("--time", type=int, default=5, help="seconds per throughput run")
    ap.add_argument("--quick", action="store_true", help="1 s runs (about 1-2 minutes in all)")
    ap.add_argument("--build", default=os.environ.get("LWIPD_BUILD", os.path.join(TOP, "build")))
    ap.add_argument("--out", help="also write the JSON document to this file")
    ap.add_argument("--lwipd-arg", action="append", default=[],
                    help="extra lwipd option (repeatable), e.g. --lwipd-arg=--tx-mode=sync")
    ap.add_argument("--churn-seconds", type=int, default=30,
                    help="seconds per churn run (default 30; --quick: 3)")
    ap.add_argument("--churn-runs", type=int, default=3,
                    help="churn runs per workload and target, medians reported (default 3)")
    ap.add_argument("--churn-concurrency", type=int, default=16,
                    help="connections the churn client keeps in flight (default 16)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--no-churn", action="store_true", help="leave the churn part out")
    only.add_argument("--churn-only", action="store_true", help="only the churn part")
    a = ap.parse_args()
    if a.runs < 5:
        ap.error("--runs must be at least 5 (medians of at least 5)")
    if a.quick:
        a.time = 1
        a.churn_seconds = 3
    if not 1 <= a.churn_seconds <= 600 or not 1 <= a.churn_runs <= 20 or \
            not 1 <= a.churn_concurrency <= 1000:
        ap.error("--churn-seconds 1-600, --churn-runs 1-20, --churn-concurrency 1-1000")
    build = os.path.abspath(a.build)
    harness.configure(build=build)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    t_start = time.monotonic()
    samples = {k: [] for k in ("relay_fwd", "relay_rev", "lwipd_fwd", "lwipd_rev", "lwipd_p4",
                               "lwiperf", "ping_relay_ms", "ping_lwipd_ms", "cpu_s_per_gb_fwd",
                               "cpu_s_per_gb_rev", "udp_gbps", "udp_loss")}
    errors = []
    status = lw_stats = hwm = churn = relay_stats = None
    udp = None
    binfo = build_info(harness.LWIPD)
    mtu = {}
    relay = Relay(build, os.getpid())
    ns = harness.Netns()
    d = None
    workdir = "/tmp/lwipd-bench-%d" % os.getpid()
    try:
        relay.start()
        ns.create()
        mtu = {"lwipd_tap": tap_mtu(ns.name, ns.tap),
               "relay_taps": [tap_mtu(n) for n in relay.ns]}
        if not a.churn_only:
            d = harness.Lwipd(ns, workdir, pcap=False, extra_args=a.lwipd_arg).start()
            status = d.request({"cmd": "status"})
            relay_cmd = ["ip", "netns", "exec", relay.ns[0]]
            lw_cmd = ns.cmd([])
            harness.ping(ns, d.ip, count=3)  # ARP

            def measure(key, cmd, host, args, cpu_key=None):
                c0 = proc_cpu_s(d.pid) if cpu_key else None
                r = iperf3(cmd, host, args, a.time)
                if "error" in r:
                    errors.append("%s: %s" % (key, r["error"]))
                    return
                samples[key].append(r["gbps"])
                if cpu_key:
                    samples[cpu_key].append((proc_cpu_s(d.pid) - c0) / (r["bytes"] / 1e9))

            for i in range(a.runs):
                log("round %d/%d" % (i + 1, a.runs))
                measure("relay_fwd", relay_cmd, RELAY_B, [])
                measure("relay_rev", relay_cmd, RELAY_B, ["-R"])
                measure("lwipd_fwd", lw_cmd, d.ip, [], "cpu_s_per_gb_fwd")
                measure("lwipd_rev", lw_cmd, d.ip, ["-R"], "cpu_s_per_gb_rev")
                measure("lwipd_p4", lw_cmd, d.ip, ["-P", 4])
                before = d.stats()["apps"]["lwiperf"]["sessions"]
                r = ns.run(["timeout", str(a.time + 30), "iperf", "-c", d.ip, "-t", str(a.time),
                            "-y", "C"], timeout=a.time + 60, check=False)
                try:
                    lw = harness.wait_for(lambda: (lambda s: s if s["sessions"] > before else None)(
                        d.stats()["apps"]["lwiperf"]), 10, "lwiperf's report")
                    samples["lwiperf"].append(lw["last_bytes"] * 8 / (lw["last_ms"] / 1e3) / 1e9)
                except TimeoutError:
                    errors.append("lwiperf: no report (%s)" % r.stderr.strip())
                pr = harness.ping(harness_ns(relay.ns[0]), RELAY_B, count=100, interval=0.01)
                pl = harness.ping(ns, d.ip, count=100, interval=0.01)
                samples["ping_relay_ms"].append(pr["avg_ms"])
                samples["ping_lwipd_ms"].append(pl["avg_ms"])

            # UDP host -> lwIP: the highest offered rate that arrives with < 1 %
            # loss: a short search of 1 s runs, then --runs samples at that
            # rate. A rate that passed one 1 s run may fail the longer ones:
            # their median is checked the same way, and the rate steps down
            # (at most UDP_MAX_STEPS_DOWN times) until it passes; only a rate
            # that passed is reported. "udp" in the JSON has every step.
            log("UDP search")
            udp = {"max_loss_percent": UDP_MAX_LOSS, "min_delivered": UDP_MIN_DELIVERED,
                   "search": [], "confirmation": [], "steps_down": 0, "rate_mbps": None,
                   "confirmed": False}
            good, bad, rate, steps = None, None, 500e6, 0
            while steps < (5 if a.quick else 7):
                steps += 1
                rate = int(rate / 1e6) * 1e6  # what -b "%dM" offers
                r = iperf3(lw_cmd, d.ip, ["-u", "-b", "%dM" % (rate / 1e6), "-l", 1460], 1)
                if "error" in r:
                    errors.append("udp search: %s" % r["error"])
                    udp["search"].append({"rate_mbps": rate / 1e6, "error": r["error"]})
                    break
                # good: < 1 % lost and the offered rate really delivered (the
                # host's iperf3 may not manage to send it)
                ok = udp_good(r["lost_percent"], r["gbps"], rate)
                udp["search"].append({"rate_mbps": rate / 1e6, "seconds": 1,
                                      "lost_percent": r["lost_percent"],
                                      "received_gbps": r["gbps"], "good": ok})
                if ok:
                    good = rate
                else:
                    bad = rate
                if bad is None:
                    rate *= 2
                    if rate > 8e9:
                        break
                else:
                    if good is None:
                        rate /= 2
                        if rate < 10e6:
                            break
                    else:
                        rate = (good + bad) / 2
            if good:
                gbps, loss = udp_confirm(
                    udp, good, a.runs, a.time, errors,
                    lambda rate: iperf3(lw_cmd, d.ip, ["-u", "-b", "%dM" % (rate / 1e6), "-l",
                                                       1460], a.time))
                samples["udp_gbps"], samples["udp_loss"] = gbps, loss
            hwm = proc_hwm_mib(d.pid)
            lw_stats = d.stats()
            code = d.stop()
            if code != 0:
                errors.append("lwipd exited with %s" % code)
        if not a.no_churn:
            log("churn: %d run(s) of %d s per workload and target" % (a.churn_runs,
                                                                      a.churn_seconds))
            churn = bench_churn.measure(harness, log, ns, relay.ns[0], relay.ns[1], RELAY_B,
                                        a.churn_seconds, a.churn_runs, a.churn_concurrency,
                                        workdir + "-churn", a.lwipd_arg)
        relay_stats = relay.stop()
    finally:
        if d:
            d.stop()
        relay.stop()
        ns.delete()

    doc = {
        "config": {"runs": a.runs, "seconds_per_run": a.time, "quick": a.quick,
                   # read back from the namespaces, and lwIP's own view
                   "mtu": mtu.get("lwipd_tap"), "relay_mtu": mtu.get("relay_taps"),
                   "lwip_mtu": (status or {}).get("mtu"),
                   "lwipd_args": a.lwipd_arg, "build": build,
                   # `lwipd --version` of the binary measured
                   "lwipopts": binfo["lwipopts"], "heap": binfo["heap"],
                   "sanitizers": binfo.get("sanitizers"),
                   "lwip": (status or {}).get("build", {}).get("lwip"),
                   "tx_mode": (status or {}).get("tx_mode"),
                   "txc_free": (status or {}).get("txc_free"), "nproc": os.cpu_count(),
                   "kernel": platform.release(), "iperf3": "3.12"},
    }
    if not a.churn_only:
        m = {k: med(v) for k, v in samples.items()}
        doc.update({
            "medians": {
                "relay_fwd_gbps": m["relay_fwd"], "relay_rev_gbps": m["relay_rev"],
                "lwipd_iperf3_fwd_gbps": m["lwipd_fwd"], "lwipd_iperf3_rev_gbps": m["lwipd_rev"],
                "lwipd_iperf3_p4_gbps": m["lwipd_p4"], "lwipd_lwiperf_gbps": m["lwiperf"],
                "lwipd_udp_max_rate_mbps": udp["rate_mbps"] if udp else None,
                "lwipd_udp_received_gbps": m["udp_gbps"], "lwipd_udp_loss_percent": m["udp_loss"],
                "ping_relay_avg_ms": m["ping_relay_ms"], "ping_lwipd_avg_ms": m["ping_lwipd_ms"],
                "lwipd_cpu_s_per_gb_fwd": m["cpu_s_per_gb_fwd"],
                "lwipd_cpu_s_per_gb_rev": m["cpu_s_per_gb_rev"],
                "lwipd_peak_rss_mib": hwm,
            },
            "ratios": {
                "lwipd_fwd_vs_relay_fwd": ratio(m["lwipd_fwd"], m["relay_fwd"]),
                "lwipd_rev_vs_relay_fwd": ratio(m["lwipd_rev"], m["relay_fwd"]),
                "lwipd_rev_vs_relay_rev": ratio(m["lwipd_rev"], m["relay_rev"]),
                "lwipd_p4_vs_relay_fwd": ratio(m["lwipd_p4"], m["relay_fwd"]),
                "iperf3_vs_lwiperf": ratio(m["lwipd_fwd"], m["lwiperf"]),
                "ping_lwipd_vs_relay": ratio(m["ping_lwipd_ms"], m["ping_relay_ms"]),
            },
            "samples": samples,
            "udp": udp,
            "counters": {"relay": relay_stats,
                         "lwipd_driver": {k: lw_stats["driver"][k] for k in (
                             "rx_frames", "tx_frames", "rx_nomem", "tx_ring_full",
                             "ring_max_used", "txc_isr_runs", "rt_threads")},
                         "lwipd_tcp_retrans":
                             lw_stats["lwip"].get("mib2", {}).get("tcpretranssegs")},
        })
        r = doc["ratios"]
        doc["targets"] = {
            "fwd_ge_1.8x_relay_fwd": r["lwipd_fwd_vs_relay_fwd"] is not None and
            r["lwipd_fwd_vs_relay_fwd"] >= 1.8,
            "rev_ge_1.5x_relay_fwd": r["lwipd_rev_vs_relay_fwd"] is not None and
            r["lwipd_rev_vs_relay_fwd"] >= 1.5,
            "iperf3_ge_lwiperf": r["iperf3_vs_lwiperf"] is not None and
            r["iperf3_vs_lwiperf"] >= 1.0,
            "ping_le_1.0x_relay": r["ping_lwipd_vs_relay"] is not None and
            r["ping_lwipd_vs_relay"] <= 1.0,
        }
    if churn:
        doc["churn"] = churn
        doc["config"]["lwip"] = doc["config"]["lwip"] or churn["lwip"]
        raw = churn["lwipd_raw"].get("connect_close", {}).get("median_per_s", 0)
        doc.setdefault("targets", {}).update({
            "churn_connect_close_ge_15000_per_s": raw >= 15000,
            "churn_leaks_clean": churn["lwipd_after"]["leaks_clean"],
        })
    doc["errors"] = errors
    doc["wall_seconds"] = round(time.monotonic() - t_start, 1)
    table(doc)
    text = json.dumps(doc, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 1 if errors else 0


class harness_ns(harness.Netns):
    """An existing namespace, for harness.ping()."""

    def __init__(self, name):  # noqa: D107 - no creation, no deletion
        self.name = name


def table(doc):
    def f(v, fmt="%.3f"):
        return fmt % v if v is not None else "-"

    log("")
    if "medians" in doc:
        stream_table(doc, f)
    if "churn" in doc:
        churn_table(doc["churn"])
    log("targets: " + ", ".join("%s %s" % (k, "met" if v else "NOT met")
                                for k, v in doc.get("targets", {}).items()))
    if doc["errors"]:
        log("errors: " + "; ".join(doc["errors"]))


def churn_table(c):
    log("%-34s %12s %10s" % ("churn, median of %d runs, %d s" % (c["runs"], c["seconds"]),
                             "conn/s", "vs kernel"))
    for t in ("kernel_relay", "lwipd_raw", "lwipd_sockets"):
        for w in ("connect_close", "echo1_close"):
            if w not in c.get(t, {}):
                continue
            rt = c["ratios"].get("%s_vs_kernel_%s" % (t, w))
            shown = "%.2f" % rt if rt is not None else "-"
            log("%-38s %8d %10s" % ("%s %s" % (t, w), c[t][w]["median_per_s"], shown))
    for x in c["lwipd_crashes"]:
        log("lwipd crash (%s %s, after %s connections): %s"
            % (x["target"], x["workload"], x["connections"], x["fatal"]))
    after = c["lwipd_after"]
    log("lwipd after the churn: leaks %s"
        % ("clean" if after["leaks_clean"] else "FOUND: %s" % after["leaked"]))


def stream_table(doc, f):
    md, r = doc["medians"], doc["ratios"]
    cfg = doc["config"]
    title = "median of %d runs, %d s each" % (cfg["runs"], cfg["seconds_per_run"])
    log("%-34s %12s %10s" % (title, "value", "ratio"))
    rows = [
        ("relay kernel->kernel fwd (Gbit/s)", md["relay_fwd_gbps"], None),
        ("relay kernel->kernel rev (Gbit/s)", md["relay_rev_gbps"], None),
        ("lwipd iperf3 host->lwIP (Gbit/s)", md["lwipd_iperf3_fwd_gbps"],
         r["lwipd_fwd_vs_relay_fwd"]),
        ("lwipd iperf3 lwIP->host (Gbit/s)", md["lwipd_iperf3_rev_gbps"],
         r["lwipd_rev_vs_relay_fwd"]),
        ("lwipd iperf3 -P 4 (Gbit/s)", md["lwipd_iperf3_p4_gbps"], r["lwipd_p4_vs_relay_fwd"]),
        ("lwipd lwiperf iperf2 (Gbit/s)", md["lwipd_lwiperf_gbps"], None),
        ("iperf3 server / lwiperf", None, r["iperf3_vs_lwiperf"]),
        ("lwipd UDP max rate <1% loss (Mbit/s)", md["lwipd_udp_max_rate_mbps"], None),
        ("ping relay avg (ms)", md["ping_relay_avg_ms"], None),
        ("ping lwipd avg (ms)", md["ping_lwipd_avg_ms"], r["ping_lwipd_vs_relay"]),
        ("lwipd CPU s/GB fwd / rev", md["lwipd_cpu_s_per_gb_fwd"], md["lwipd_cpu_s_per_gb_rev"]),
        ("lwipd peak RSS (MiB)", md["lwipd_peak_rss_mib"], None),
    ]
    for name, v, rt in rows:
        log("%-38s %8s %10s" % (name, f(v), f(rt)))
    u = doc.get("udp")
    if u and u["confirmation"]:
        last = u["confirmation"][-1]
        log("UDP: %s at %d Mbit/s (median loss %s %%) after %d step(s) down" % (
            "confirmed" if u["confirmed"] else "NOT confirmed", last["rate_mbps"],
            f(last["median_lost_percent"], "%.2f"), u["steps_down"]))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("bench: interrupted; namespaces removed")
        sys.exit(130)
