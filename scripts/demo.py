#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lwipd demo: the three things lwipd is for, in about a minute.

1. lwipd as a daemon in its network namespace, lwIP answering ping and arping;
2. stock iperf3 against lwIP both ways, and lwIP's own iperf3 client driven
   through lwipctl against the host's iperf3 server;
3. the hardware and the network misbehaving on purpose: the cable pulled in
   the middle of an iperf3 run, then a seeded loss rule with the
   retransmissions it causes; a look into the capture, where every event
   is a comment on its frame; optionally (--crash) seed 000's TX-complete
   ISR freeing into the heap under the stack's feet, caught in a second.

At the end: report.html (lwipd-report: throughput, link, faults, pools on
one time axis), the capture, the events and stats logs. Everything happens
in a network namespace this script creates, on 198.18.0.0/15; the
namespace and every process are removed at exit, also on Ctrl-C. Run
through scripts/demo.
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "python"))  # the lwipd package, from this tree
from lwipd import testing as harness  # noqa: E402

harness.configure(build=os.environ.get("LWIPD_BUILD", os.path.join(TOP, "build")))

SEED = 42
LOSS_RULE = 'rx drop 2% "tcp"'
RATE = "300M"  # the captured steps' iperf3 rate: a capture tshark reads in seconds


def mbit(bps):
    return "%.0f Mbit/s" % (bps / 1e6) if bps < 1e9 else "%.2f Gbit/s" % (bps / 1e9)


class Demo:
    def __init__(self, out):
        self.out = out
        self.report = {"output_dir": out, "seed": SEED, "steps": {}}
        self.ns = harness.Netns()
        self.d = None
        self.procs = []

    def step(self, name, text, data, more=()):
        self.report["steps"][name] = data
        print("  %-9s %s" % (name, text), flush=True)
        for line in more:
            print("  %-9s   %s" % ("", line), flush=True)

    def popen(self, cmd, **kw):
        p = self.ns.popen(cmd, **kw)
        self.procs.append(p)
        return p

    def lwipctl(self, *args, timeout=60):
        return harness.run([harness.LWIPCTL, "-s", self.d.control] + list(args),
                           timeout=timeout, check=False)

    def iperf3(self, *args, seconds=3):
        """Stock iperf3 from the host against lwIP's server: its -J."""
        r = self.ns.run(["iperf3", "-c", self.d.ip, "-J", "-t", str(seconds)] + list(args),
                        timeout=seconds + 60, check=False)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {"error": r.stderr.strip() or r.stdout.strip()}
        if "error" in j:
            raise RuntimeError("iperf3 %s: %s" % (" ".join(args), j["error"]))
        return j

    # ---- the steps -----------------------------------------------------------

    def start(self):
        self.ns.create()
        ev = os.path.join(self.out, "events.jsonl")
        self.d = harness.Lwipd(self.ns, self.out, pcap=False, extra_args=[
            "--pcap", os.path.join(self.out, "capture.pcapng"), "--pcap-format", "pcapng",
            "--pcap-snaplen", "128", "--seed", str(SEED), "--events", ev,
            "--stats-log", os.path.join(self.out, "stats-log.jsonl"), "--stats-interval", "200",
            "--report-dir", self.out])
        self.d.pcap = os.path.join(self.out, "capture.pcapng")
        self.d.start()
        st = self.d.request({"cmd": "status"})
        self.report["lwipd"] = {"status": st}
        self.report["namespace"] = self.ns.name
        print("lwipd demo: lwIP %s in lwipd on %s, namespace %s (host %s, lwIP %s, MAC %s)"
              % (st["build"]["lwip"], self.ns.tap, self.ns.name, harness.HOST_IP, self.d.ip,
                 self.d.mac), flush=True)
        with open(os.path.join(self.out, "version.json"), "w") as f:
            json.dump(self.d.request({"cmd": "version"}), f)
        # The capture is for the cable pull and the loss (cable_pull() starts
        # it again): gigabits a second of bulk would make it gigabytes.
        self.d.request({"cmd": "capture", "op": "stop"})

    def hello(self):
        p = harness.ping(self.ns, self.d.ip, count=20, interval=0.01)
        r = self.ns.run(["arping", "-c", "2", "-w", "5", "-I", self.ns.tap, self.d.ip],
                        check=False)
        seen = self.d.mac.lower() in r.stdout.lower()
        self.step("ping", "%d/%d replies, %.3f ms average; arping: %s" % (
            p["received"], p["transmitted"], p["avg_ms"] or 0,
            "lwIP answered as " + self.d.mac if seen else "no answer"),
            {"ping": {k: v for k, v in p.items() if k != "output"}, "arping_seen": seen})
        return p["loss"] == 0 and seen

    def iperf3_both_ways(self):
        up = self.iperf3()
        down = self.iperf3("-R")
        ok_up = up["end"]["sum_received"]["bits_per_second"]
        ok_down = down["end"]["sum_received"]["bits_per_second"]
        self.step("iperf3", "host -> lwIP %s, lwIP -> host (-R) %s (stock iperf3 -c, 3 s "
                  "each, against lwIP's iperf3 server)" % (mbit(ok_up), mbit(ok_down)),
                  {"host_to_lwip_bps": ok_up, "lwip_to_host_bps": ok_down})
        return ok_up > 0 and ok_down > 0

    def lwip_client(self):
        """lwIP's iperf3 client, through lwipctl, against the host's server:
        lwipctl prints what iperf3 would."""
        figures = {}
        for reverse in (False, True):
            srv = self.popen(["iperf3", "-s", "-1", "-B", harness.HOST_IP],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            harness.wait_for(lambda: ":5201" in self.ns.run(
                ["ss", "-Hltn", "sport", "=", ":5201"], check=False).stdout, 10,
                "the host's iperf3 server")
            args = ["iperf3", "--client", harness.HOST_IP, "-t", "2"]
            args += ["-R"] if reverse else []
            r = self.lwipctl(*args, timeout=60)
            lines = [x for x in r.stdout.splitlines() if x.strip()]
            print("  %-9s $ lwipctl %s" % ("lwipctl", " ".join(args)), flush=True)
            for line in lines[-4:]:
                print("  %-9s   %s" % ("", line), flush=True)
            srv.wait(timeout=30)
            figures["reverse" if reverse else "forward"] = {
                "exit": r.returncode, "output": lines}
            if r.returncode != 0:
                self.report["steps"]["lwipctl-iperf3"] = figures
                return False
        self.report["steps"]["lwipctl-iperf3"] = figures
        return True

    def cable_pull(self):
        """The cable pulled for a second in the middle of a 6 s iperf3 run:
        the intervals show the gap, the host sees NO-CARRIER meanwhile."""
        out = os.path.join(self.out, "iperf3-cable.json")
        self.d.request({"cmd": "capture", "op": "start"})  # from here on, at 300 Mbit/s
        with open(out, "w") as f:
            client = self.popen(["iperf3", "-c", self.d.ip, "-J", "-t", "6", "-i", "1",
                                 "-b", RATE], stdout=f, stderr=subprocess.DEVNULL)
        rx0 = self.d.stats()["driver"]["rx_bytes"]
        harness.wait_for(lambda: self.d.stats()["driver"]["rx_bytes"] > rx0 + (16 << 20), 15,
                         "iperf3 data flowing")
        t_flow = time.monotonic()
        harness.wait_for(lambda: time.monotonic() - t_flow > 1.5, 5, "1.5 s of iperf3")
        self.lwipctl("capture", "mark", "demo: pulling the cable")
        self.lwipctl("link", "down")
        harness.wait_for(lambda: not self.ns.carrier(), 5, "the host's carrier off")
        no_carrier = "NO-CARRIER" in self.ns.link_show()
        t_down = time.monotonic()
        harness.wait_for(lambda: time.monotonic() - t_down > 1.0, 5, "1 s without a cable")
        self.lwipctl("link", "up")
        harness.wait_for(self.ns.carrier, 5, "the host's carrier on")
        client.wait(timeout=60)
        with open(out) as f:
            j = json.load(f)
        if "error" in j:
            raise RuntimeError("iperf3 during the cable pull: %s" % j["error"])
        iv = [i["sum"]["bits_per_second"] / 1e6 for i in j["intervals"]]
        self.step("cable", "pulled for 1 s in iperf3 -b %s (host: %s); Mbit/s a second: %s" % (
            RATE, "NO-CARRIER" if no_carrier else "still had carrier",
            " ".join("%.0f" % x for x in iv)),
            {"no_carrier": no_carrier, "interval_mbit": iv})
        return no_carrier and min(iv) < 0.5 * max(iv) and iv[-1] > 0

    def loss(self):
        """A seeded loss rule: the same frames are lost in every run with
        --seed 42; the host's TCP retransmits them."""
        add = self.d.request({"cmd": "fault", "op": "add", "rule": LOSS_RULE})
        j = self.iperf3("-b", RATE)
        rule = [r for r in self.d.stats()["fault"]["rules"] if r["id"] == add["rule_id"]][0]
        self.d.request({"cmd": "fault", "op": "clear"})
        sent = j["end"]["sum_sent"]
        bps = j["end"]["sum_received"]["bits_per_second"]
        self.step("loss", "'%s' (seed %d): dropped %d of %d TCP frames; iperf3 %s, the host "
                  "retransmitted %d segments" % (LOSS_RULE, SEED, rule["acted"],
                                                 rule["matched"], mbit(bps),
                                                 sent.get("retransmits", 0)),
                  {"rule": rule, "retransmits": sent.get("retransmits"), "bits_per_second": bps})
        return rule["acted"] > 0 and sent.get("retransmits", 0) > 0

    def capture_look(self):
        """The capture's comments: every event sits on the frame it
        concerns (pcapng), as Wireshark shows it."""
        self.d.request({"cmd": "capture", "op": "stop"})  # closed: all of it on disk
        cap = self.d.pcap
        r = harness.run(["tshark", "-r", cap, "-Y", "frame.comment", "-T", "fields",
                         "-E", "aggregator=|", "-e", "frame.number", "-e", "frame.time_relative",
                         "-e", "frame.comment"], timeout=120, check=False)
        comments = [x.split("\t") for x in r.stdout.splitlines() if x.count("\t") == 2]
        kinds = {}
        for number, rel, text in comments:
            parts = text.split("|")
            said = [c for c in parts if not c.startswith("{")]  # a fault's sentence
            for comment in parts:
                for kind in ("link", "fault", "mark"):
                    if '"type":"%s"' % kind in comment and kind not in kinds:
                        shown = said[0] if kind == "fault" and said else comment
                        kinds[kind] = "frame %s at %.3f s: %s" % (number, float(rel), shown[:80])
        lines = list(kinds.values())
        self.step("capture", "%d frames carry event comments (tshark -Y frame.comment):"
                  % len(comments), {"commented_frames": len(comments)}, lines)
        return len(kinds) == 3

    def crash(self):
        """Seed 000: the TX-complete ISR frees PBUF_RAM into lwIP's heap while
        the interrupted code is inside it; lwipd's checker stops it there."""
        work = os.path.join(self.out, "crash")
        t0 = time.monotonic()
        with harness.Storm(self.ns, work, harness.LWIPD, ["--txc-free", "isr"], 10) as s:
            code, _ = s.wait_exit(20)
        reports = sorted(glob.glob(os.path.join(work, "lwipd-crash-*.txt")))
        if code != 3 or not reports:
            self.step("crash", "no report (exit %s)" % code, {"exit": code})
            return False
        with open(reports[0]) as f:
            text = [x.rstrip() for x in f if x.strip()]
        summary = [t for t in text if t.startswith("SUMMARY")][:1]
        self.step("crash", "--txc-free isr: stopped after %.1f s, exit 3, report %s" % (
            time.monotonic() - t0, os.path.basename(reports[0])),
            {"exit": code, "report": reports[0]}, text[:3] + summary)
        return True

    def finish(self):
        stats = self.d.stats()
        with open(os.path.join(self.out, "stats.json"), "w") as f:
            json.dump(stats, f, indent=1)
        code = self.d.stop()
        drv = stats["driver"]
        self.step("lwipd", "exit %d on SIGTERM; rx %d / tx %d frames, %d TX-complete IRQs, "
                  "lwIP retransmitted %d TCP segments" % (
                      code, drv["rx_frames"], drv["tx_frames"], drv["txc_isr_runs"],
                      stats["lwip"]["mib2"]["tcpretranssegs"]), {"exit_code": code})
        html = os.path.join(self.out, "report.html")
        r = harness.run([harness.PYTHON, harness.REPORT, self.out, "-o", html, "--title",
                         "lwipd demo: iperf3, a pulled cable, 2 % loss",
                         "--command", " ".join(["lwipd"] + self.d.args)],
                        timeout=300, check=False)
        self.report["report_html"] = html if r.returncode == 0 else None
        if r.returncode != 0:
            print("  lwipd-report failed: %s" % r.stderr.strip()[-500:], flush=True)
        return code == 0 and r.returncode == 0

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()  # ours, started in the namespace
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.d is not None:
            self.d.stop()
        self.ns.delete()


def main():
    ap = argparse.ArgumentParser(description="lwipd in a namespace against iperf3, a pulled "
                                 "cable and a loss rule, with a report (scripts/demo).")
    ap.add_argument("--crash", action="store_true",
                    help="also run seed 000's ISR heap re-entry and show its crash report")
    ap.add_argument("--out", help="output directory (default: $LWIPD_DEMO_OUT or "
                    "/tmp/lwipd-demo-TIME)")
    args = ap.parse_args()
    out = os.path.abspath(args.out or os.environ.get("LWIPD_DEMO_OUT") or
                          "/tmp/lwipd-demo-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    demo = Demo(out)
    # SIGTERM from outside ends the demo the way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    t0 = time.monotonic()
    checks = {}
    try:
        demo.start()
        checks["ping"] = demo.hello()
        checks["iperf3"] = demo.iperf3_both_ways()
        checks["lwipctl-iperf3"] = demo.lwip_client()
        checks["cable"] = demo.cable_pull()
        checks["loss"] = demo.loss()
        checks["capture"] = demo.capture_look()
        checks["lwipd"] = demo.finish()
        if args.crash:
            checks["crash"] = demo.crash()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", flush=True)
        demo.report["interrupted"] = True
        checks["completed"] = False
    except Exception as e:  # report it, and still clean up
        print("\ndemo failed: %s: %s" % (type(e).__name__, e), flush=True)
        demo.report["error"] = "%s: %s" % (type(e).__name__, e)
        checks["completed"] = False
    finally:
        demo.cleanup()
    demo.report["checks"] = checks
    demo.report["ok"] = bool(checks) and all(checks.values())
    demo.report["seconds"] = round(time.monotonic() - t0, 1)
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump(demo.report, f, indent=1)
    print("\nin %s (%.0f s):" % (out, demo.report["seconds"]))
    for name, what in (("report.html", "the run on one time axis: open it in a browser"),
                       ("capture.pcapng", "every frame, events as frame comments (wireshark)"),
                       ("events.jsonl", "link edges, fault actions, marks"),
                       ("stats-log.jsonl", "every counter every 200 ms"),
                       ("lwipd.log", "lwipd's log"),
                       ("demo.json", "this demo's figures and checks")):
        if os.path.exists(os.path.join(out, name)):
            print("  %-16s %s" % (name, what))
    failed = [k for k, v in checks.items() if not v]
    print("result: %s" % ("OK" if demo.report["ok"] else "FAILED: " + ", ".join(failed)))
    return 0 if demo.report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
