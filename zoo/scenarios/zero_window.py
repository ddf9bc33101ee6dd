# SPDX-License-Identifier: MIT
"""A peer that never opens its window again: the host connects to lwipd's
chargen (lwIP sends without end) with a 4 KiB receive buffer and never
reads; once its window is closed the host goes silent (a fault rule drops
all its TCP frames before lwIP: a peer that crashed with a full buffer).
lwIP probes the window (persist timer). lwIP 2.0.x probes forever, and the
connection holds its pcb and send buffer; 2.1.0 added a zero-window probe
timeout (bug #50837): after TCP_MAXRTX unanswered probes (any segment from
the peer resets the count) the connection is aborted. Both variants use
TCP_MAXRTX 3 (zoo/opts/maxrtx3), so 2.1 gives up after about 11 s.

Bad: after HOLD s lwIP still holds the connection's pcb, its probes in the
capture. Clean: the pcb is gone (2.1 removes it in tcp_slowtmr without an
RST: the peer is taken for dead). The scenario errors when the host's
window never closed."""
import json
import os
import subprocess

from lwipd import testing as harness

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "_g_zwin.py")
CHARGEN = 19
HOLD = 15
SILENCE = 'rx drop 100% "tcp"'


def run(env):
    d = env.start()
    base = env.stats()["lwip"]["memp"]["TCP_PCB"]["used"]
    host = env.ns.popen([harness.PYTHON, SCRIPT, d.ip, str(CHARGEN),
                         str(HOLD)], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    try:
        def closed():
            segs = [s for s in harness.tcp_segments(
                harness.read_pcap(d.pcap), d.ip)
                if s["host_port"] != CHARGEN]
            return [s for s in segs if not s["from_lwip"] and
                    s["win"] == 0 and s["flags"] & 0x10]

        try:
            t0 = harness.wait_for(closed, 10, "the host's window closed",
                                  0.1)[0]["ts"]
        except TimeoutError:
            raise harness.HarnessError("the host's window never closed")
        # The peer goes silent: nothing of the host's reaches lwIP now.
        r = env.lwipctl("fault", "add", SILENCE)
        if r.returncode != 0:
            raise harness.HarnessError("fault add failed: %s" % r.stderr)
        out, err = host.communicate(timeout=HOLD + 30)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait(timeout=10)
    if host.returncode != 0:
        raise harness.HarnessError("_g_zwin.py failed (%d): %s" % (
            host.returncode, err[-2000:]))
    res = json.loads(out)
    segs = [s for s in harness.tcp_segments(harness.read_pcap(d.pcap), d.ip)
            if s["host_port"] != CHARGEN]
    probes = [round(s["ts"] - t0, 1) for s in segs
              if s["from_lwip"] and s["ts"] > t0 and s["len"] <= 1
              and not s["flags"] & 0x04]
    rst = [round(s["ts"] - t0, 1) for s in segs
           if s["from_lwip"] and s["flags"] & 0x04]
    try:
        harness.wait_for(lambda: env.stats()["lwip"]["memp"]["TCP_PCB"][
            "used"] == base, 3, "lwIP's pcb freed", 0.1)
        pcb_freed = True
    except TimeoutError:
        pcb_freed = False
    rule = env.stats()["fault"]["rules"][0]
    evidence = {"hold_s": HOLD, "host_reset": res["reset"],
                "host_seconds": res["seconds"], "probes_at_s": probes[:30],
                "rst_at_s": rst, "pcb_freed": pcb_freed,
                "silenced_frames": rule.get("acted")}
    if pcb_freed:
        return env.outcome(False, "lwIP gave up on the silent peer after %d "
                           "probes (at %s s after the window closed): pcb "
                           "freed%s" % (len(probes), probes[:8],
                                        ", RST sent" if rst else
                                        " without an RST"), evidence)
    return env.outcome(True, "window closed and peer silent for %d s: lwIP "
                       "still holds the connection, %d probes (at %s s)" % (
                           HOLD, len(probes), probes[:8]), evidence)
