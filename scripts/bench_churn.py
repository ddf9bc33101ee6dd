# SPDX-License-Identifier: MIT
"""The churn part of scripts/bench: sustained TCP connections per second.

Two workloads, each run for --churn-seconds by tools/lwipd-churn (libevent,
one thread, the client closes first), --churn-runs times, interleaved:
  connect_close  connect, close
  echo1_close    connect, send 1 byte, read it back, close
against three targets in the same run:
  lwipd_raw      lwipd's echo service (TCP 7, lwIP's raw API): what the stack
                 itself sustains
  lwipd_sockets  lwipd's churn server (TCP 7777, lwIP's sockets API, the
                 select/close socket leak pattern: acceptor, selector
                 and closer threads)
  kernel_relay   a kernel listener (lwipd-churn --serve) behind the bench's
                 TAP -> tap-relay -> TAP path: the same TAP boundary, with a
                 plain relay where lwIP would be
A run in which lwipd dies (an lwIP assert, say) is not a measurement: it is
listed under "lwipd_crashes" with lwipd's FATAL line and lwipd is started
again. Once the load has stopped, lwipd's leak report (pools and heap
against the baseline taken at ready) is part of the result.
"""
import json
import statistics
import subprocess

CHURN_PORT = 7777
ECHO_PORT = 7
WORKLOADS = {"connect_close": 0, "echo1_close": 1}  # payload bytes
LWIPD_ARGS = ["--churn", "--churn-port", str(CHURN_PORT), "--churn-close", "idle=0",
              "--churn-select-ms", "5", "--no-lwiperf"]


def tune_client_ns(harness, ns_name):
    """A client namespace makes ~10^5 connections per run: a wide port range
    and few TIME_WAIT sockets kept (past the limit the kernel simply does not
    keep them), so ports never run out."""
    for kv in ("net.ipv4.ip_local_port_range=1024 65535", "net.ipv4.tcp_max_tw_buckets=4096"):
        harness.run(["ip", "netns", "exec", ns_name, "sysctl", "-qw", kv])


def start_kernel_listener(harness, churn, ns_name, ip, seconds):
    """lwipd-churn --serve in NS_NAME on IP, bounded by SECONDS."""
    harness.check_safe(ip)
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns_name, churn, "--serve", str(CHURN_PORT), "--bind", ip,
         "--time", str(int(seconds))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    if "listening" not in p.stdout.readline():
        raise harness.HarnessError("kernel listener did not start: %s" % p.stderr.read())
    return p


def churn_run(harness, ns_name, churn, ip, port, seconds, payload, concurrency):
    harness.check_safe(ip)
    r = harness.run(["ip", "netns", "exec", ns_name, churn, "-c", str(concurrency), "-n",
                     "100000000", "-t", str(seconds), "-p", "client-close", "-s", str(payload),
                     "--timeout", "3000", ip, str(port)], timeout=seconds + 60, check=False)
    if r.returncode not in (0, 1):
        raise harness.HarnessError("lwipd-churn: %s %s" % (r.stdout, r.stderr))
    return json.loads(r.stdout)


def fatal_line(d):
    """The FATAL line lwipd printed before it died, if any."""
    for line in d.read_log().splitlines():
        if "FATAL" in line:
            return line.split("lwipd: ", 1)[-1]
    return "exited with %s" % d.proc.poll()


def summarize(runs):
    rates = [r["connections_per_s"] for r in runs]
    return {
        "median_per_s": round(statistics.median(rates)),
        "runs_per_s": [round(x) for x in rates],
        "failed": sum(r["failed"] for r in runs),
        "failures": {k: sum(r["failures"].get(k, 0) for r in runs)
                     for k in sorted({k for r in runs for k in r["failures"]})},
        "connect_ms_p99_median": statistics.median(r["connect_ms"]["p99"] or 0 for r in runs),
    }


def measure(harness, log, ns, client_ns, server_ns, server_ip, seconds, runs, concurrency,
            workdir, lwipd_args=()):
    """Run the churn benchmark. NS: lwipd's namespace (no lwipd running in
    it); CLIENT_NS, SERVER_NS: the relay's two namespaces, SERVER_IP the
    address of SERVER_NS, where a kernel listener is started here. Returns
    the report."""
    churn = harness.CHURN
    args = LWIPD_ARGS + list(lwipd_args)
    tune_client_ns(harness, ns.name)
    tune_client_ns(harness, client_ns)
    total = runs * len(WORKLOADS) * 3 * (seconds + 60) + 60
    listener = start_kernel_listener(harness, churn, server_ns, server_ip, total)
    d = harness.Lwipd(ns, workdir, pcap=False, extra_args=args).start()
    targets = {"lwipd_raw": (ns.name, harness.LWIP_IP, ECHO_PORT),
               "lwipd_sockets": (ns.name, harness.LWIP_IP, CHURN_PORT),
               "kernel_relay": (client_ns, server_ip, CHURN_PORT)}
    results = {t: {w: [] for w in WORKLOADS} for t in targets}
    crashes = []
    try:
        for i in range(runs):  # interleaved, so that drift hits every target alike
            log("churn round %d/%d" % (i + 1, runs))
            for w, payload in WORKLOADS.items():
                for t, (cns, ip, port) in targets.items():
                    res = churn_run(harness, cns, churn, ip, port, seconds, payload, concurrency)
                    if t != "kernel_relay" and not d.alive():
                        # A finding, not a measurement: keep it, start lwipd again.
                        crashes.append({"target": t, "workload": w, "after_s": res["seconds"],
                                        "connections": res["ok"], "fatal": fatal_line(d)})
                        d.stop()
                        d = harness.Lwipd(ns, workdir, pcap=False, extra_args=args).start()
                    else:
                        results[t][w].append(res)
        report = {"lwip": d.request({"cmd": "status"})["build"]["lwip"],
                  "seconds": seconds, "runs": runs, "concurrency": concurrency,
                  "client": "lwipd-churn, one thread, pattern client-close",
                  "lwipd_args": args, "lwipd_crashes": crashes}
        for t in targets:
            report[t] = {w: summarize(r) for w, r in results[t].items() if r}
        report["ratios"] = {
            "%s_vs_kernel_%s" % (t, w): round(report[t][w]["median_per_s"] /
                                              max(1, report["kernel_relay"][w]["median_per_s"]),
                                              2)
            for t in ("lwipd_raw", "lwipd_sockets") for w in WORKLOADS
            if w in report[t] and w in report["kernel_relay"]}
        # lwipd after the load: every connection closed, pools back.
        harness.wait_for(lambda: d.stats()["apps"]["churn"]["in_use"] == 0, 10, "churn idle")
        clean, last = d.wait_leaks_clean(timeout=15)
        st = d.stats()["apps"]["churn"]
        report["lwipd_after"] = {"leaks_clean": bool(clean), "leaked": last.get("leaked"),
                                 "accepted": st["accepted"], "accept_fail": st["accept_fail"],
                                 "max_in_use": st["max_in_use"]}
        return report
    finally:
        d.stop()
        if listener.poll() is None:
            listener.terminate()
            try:
                listener.wait(timeout=10)
            except subprocess.TimeoutExpired:
                listener.kill()
                listener.wait()
