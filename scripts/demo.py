#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lwipd demo: a namespace, a TAP, lwipd on it, real host tools against it,
the cable pulled and plugged, and a report. Run through scripts/demo.

Everything happens in a network namespace this script creates, on
198.18.0.0/15, and the namespace and lwipd are removed at exit, also on
Ctrl-C. The capture, log, stats and report stay in the output directory.
"""
import json
import os
import signal
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402

MIB = 1024 * 1024


def main():
    out = os.path.abspath(os.environ.get("LWIPD_DEMO_OUT") or
                          "/tmp/lwipd-demo-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    report = {"output_dir": out, "steps": {}}
    lines = []
    ns = harness.Netns()
    d = None

    def step(name, text, data):
        report["steps"][name] = data
        lines.append("  %-10s %s" % (name, text))
        print("  %-10s %s" % (name, text), flush=True)

    # SIGTERM from outside ends the demo the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        ns.create()
        d = harness.Lwipd(ns, out, extra_args=["--pcap-snaplen", "128"]).start()
        status = d.request({"cmd": "status"})
        head = ("lwipd demo: lwIP %s on %s in namespace %s (host %s, lwIP %s, MAC %s)" %
                (status["build"]["lwip"], ns.tap, ns.name, harness.HOST_IP, d.ip, d.mac))
        print(head, flush=True)
        report["lwipd"] = {"status": status}

        p = harness.ping(ns, d.ip, count=100, interval=0.01)
        step("ping", "%d/%d replies, avg RTT %.3f ms"
             % (p["received"], p["transmitted"], p["avg_ms"] or 0),
             {k: v for k, v in p.items() if k != "output"})

        r = ns.run(["arping", "-c", "3", "-w", "5", "-I", ns.tap, d.ip], check=False)
        seen = d.mac.lower() in r.stdout.lower()
        step("arping", "lwIP answered as %s" % d.mac if seen else "no answer",
             {"mac_seen": seen})

        e = ns.helper("nettools.py", "tcp-echo", d.ip, 7, MIB)
        step("tcp echo", "%.1f MiB %s in %.3f s" % (
            e["received"] / MIB, "echoed byte for byte" if e["match"] else "MISMATCH",
            e["seconds"]), e)

        u = ns.helper("nettools.py", "udp-echo", d.ip, 7, 100, 1000)
        step("udp echo", "%d/%d datagrams of 1000 bytes echoed" % (u["echoed"], u["sent"]), u)

        r = ns.run(["iperf", "-c", d.ip, "-t", "3", "-y", "C"], timeout=60, check=False)
        rows = [x.split(",") for x in r.stdout.strip().splitlines() if x.count(",") >= 8]
        if rows:
            sent, bps = int(rows[-1][7]), int(rows[-1][8])
            lw = harness.wait_for(lambda: (lambda s: s if s["sessions"] else None)(
                d.stats()["apps"]["lwiperf"]), 10, "lwiperf report")
            step("iperf2", "3 s into lwIP's lwiperf: %.2f Gbit/s (%.0f MB sent, lwiperf "
                 "counted %.0f MB)" % (bps / 1e9, sent / 1e6, lw["last_bytes"] / 1e6),
                 {"bytes": sent, "bits_per_second": bps, "lwiperf": lw})
        else:
            step("iperf2", "FAILED: %s" % (r.stderr.strip() or r.stdout.strip()),
                 {"error": r.stderr})

        t0 = time.time()
        d.request({"cmd": "link", "state": "down"})
        harness.wait_for(lambda: not ns.carrier(), 5, "carrier off")
        no_carrier = "NO-CARRIER" in ns.link_show()
        lost = harness.ping(ns, d.ip, count=3, interval=0.2)["received"]
        t_up = time.time()
        d.request({"cmd": "link", "state": "up"})
        harness.wait_for(ns.carrier, 5, "carrier on")
        carrier_s = time.time() - t_up

        src = harness.mac_bytes(d.mac)

        def after_up(pred):
            return [ts for ts, f in harness.read_pcap(d.pcap)
                    if ts >= t_up - 0.001 and f[6:12] == src and pred(f)]

        harness.wait_for(lambda: harness.ping(ns, d.ip, count=1)["received"] == 1, 10,
                         "ping through the plugged link")
        harness.wait_for(lambda: after_up(harness.is_icmp_echo_reply), 5, "capture flush")
        garps = after_up(lambda f: harness.is_gratuitous_arp(f, d.ip))
        want_garp = harness.expects_garp_on_link_up(status)
        if garps:
            garp_text = "gratuitous ARP after %.3f s" % (garps[0] - t_up)
        elif want_garp:
            garp_text = "NO gratuitous ARP"
        else:
            garp_text = "no gratuitous ARP (lwIP %s with LWIP_ACD: none for static addresses)" % (
                status["build"]["lwip"])
        back = harness.ping(ns, d.ip, count=5)["received"]
        step("link", "down: host %s, ping %d/3; up: carrier in %.3f s, %s, ping %d/5" % (
            "NO-CARRIER" if no_carrier else "still has carrier", lost, carrier_s, garp_text, back),
             {"no_carrier": no_carrier, "ping_while_down": lost, "carrier_back_s": carrier_s,
              "garp_after_s": garps[0] - t_up if garps else None, "garp_expected": want_garp,
              "ping_after_up": back, "down_at": t0})

        stats = d.stats()
        with open(os.path.join(out, "stats.json"), "w") as f:
            json.dump(stats, f, indent=1)
        code = d.stop()
        frames = harness.read_pcap(d.pcap)
        drv = stats["driver"]
        step("lwipd", "exit %d on SIGTERM; %d frames captured; rx %d / tx %d frames, "
             "%d TX-complete IRQs, TCP retransmissions %d" % (
                 code, len(frames), drv["rx_frames"], drv["tx_frames"], drv["txc_isr_runs"],
                 stats["lwip"]["mib2"]["tcpretranssegs"]),
             {"exit_code": code, "frames_captured": len(frames), "driver": drv})
        ok = (p["loss"] == 0 and seen and e["match"] and u["echoed"] == u["sent"] and rows and
              no_carrier and lost == 0 and back == 5 and code == 0 and
              bool(garps) == want_garp)
        report["ok"] = bool(ok)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", flush=True)
        report["ok"] = False
        report["interrupted"] = True
    except Exception as e:  # report it, and still clean up
        print("\ndemo failed: %s: %s" % (type(e).__name__, e), flush=True)
        report["ok"] = False
        report["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if d is not None:
            d.stop()
        ns.delete()

    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("\nfiles in %s:" % out)
    for name, what in (("capture.pcap",
                        "every frame that crossed the TAP, first 128 bytes (tcpdump -r)"),
                       ("lwipd.log", "lwipd's log"), ("stats.json", "lwipctl stats at the end"),
                       ("report.json", "this report as JSON")):
        if os.path.exists(os.path.join(out, name)):
            print("  %-13s %s" % (name, what))
    print("result: %s" % ("OK" if report.get("ok") else "FAILED"))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
