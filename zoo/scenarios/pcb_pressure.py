# SPDX-License-Identifier: MIT
"""TCP PCB pressure: the host fills lwIP's TCP_PCB pool with live echo
connections (nothing in TIME_WAIT, LAST_ACK or CLOSING to reclaim), then
opens one more. tcp_alloc() then calls tcp_kill_prio() with the listener's
priority: lwIP before 2.1.0 kills the oldest active connection of the same
or lower priority, so a live, working connection is reset to make room;
from 2.1.0 (CHANGELOG 2017-11-06, Axel Lin) only a lower priority is
killed, and the new SYN goes unanswered instead (tcp.memerr).

Bad: a connection that echoed before the extra connect no longer does.
Clean: every held connection still echoes and the extra one was refused
(if it got in without killing anything, the pool was not full: error)."""
import json
import os

from lwipd import testing as harness

HOLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_g_hold.py")
ECHO_PORT = 7


def run(env):
    d = env.start()
    opts = env.ctl("version")["build"]["options"]
    npcb = opts["MEMP_NUM_TCP_PCB"]
    used = env.stats()["lwip"]["memp"]["TCP_PCB"]["used"]
    n = npcb - used
    r = env.ns.run([harness.PYTHON, HOLD, d.ip, str(ECHO_PORT), str(n)],
                   timeout=3 * n + 60, check=False)
    if r.returncode != 0:
        raise harness.HarnessError("_g_hold.py failed (%d): %s" % (
            r.returncode, r.stderr[-2000:]))
    res = json.loads(r.stdout)
    env.log("held %d of %d, extra %s, %d broken" % (
        res["opened"], n, "connected" if res["extra_connected"] else
        "refused", len(res["broken"])))
    if res["opened"] < n or res["echo_before"] < n:
        raise harness.HarnessError("could not fill the TCP_PCB pool: %r" % res)
    st = env.stats()["lwip"]

    def rst_ports():
        segs = harness.tcp_segments(harness.read_pcap(d.pcap), d.ip)
        return sorted({s["host_port"] for s in segs
                       if s["from_lwip"] and s["flags"] & 0x04})

    try:  # the capture is flushed every 100 ms
        rst = harness.wait_for(rst_ports, 2, "an RST from lwIP", 0.1)
    except TimeoutError:
        rst = []
    evidence = {"MEMP_NUM_TCP_PCB": npcb, "held": res["opened"],
                "extra_connected": res["extra_connected"],
                "extra_error": res.get("extra_error"),
                "broken": res["broken"],
                "broken_ports": [res["ports"][int(i)] for i in res["broken"]],
                "tcp_memerr": st["tcp"]["memerr"],
                "memp_TCP_PCB": st["memp"]["TCP_PCB"],
                "rst_from_lwip_to_ports": rst}
    if res["broken"]:
        return env.outcome(True, "%d of %d live connections killed (%s: "
                           "index %s, host ports %s) for the extra one (%s);"
                           " lwIP sent RST to ports %s" % (
                               len(res["broken"]), n,
                               ", ".join(sorted(set(res["broken"].values()))),
                               ", ".join(res["broken"]),
                               evidence["broken_ports"],
                               "connected" if res["extra_connected"]
                               else "refused", rst), evidence)
    if res["extra_connected"]:
        raise harness.HarnessError("the extra connection got in without "
                                   "killing one: the pool was not full")
    return env.outcome(False, "all %d live connections kept; the extra one "
                       "refused (%s), tcp.memerr %d" % (
                           n, res.get("extra_error"), st["tcp"]["memerr"]),
                       evidence)
