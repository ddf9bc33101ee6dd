# SPDX-License-Identifier: MIT
"""TIME_WAIT 4-tuple reuse: the server closes first, so its end of the
connection is in TIME_WAIT; the client reconnects from the same port at
once. lwIP's tcp_timewait_input() answers such a SYN with an ACK of the old
connection (out of window: the usual case) or an RST (in window), for the
whole 2 MSL (120 s): the reconnect stalls. Linux accepts a new SYN on a
TIME_WAIT socket when its sequence number or timestamp is newer (RFC 1122
4.2.2.13 allows both behaviours; RFC 6191). No lwIP release changes this,
so the reference is the kernel (entry oracle = "linux"): for the fixed
role the same client talks to a kernel server in the namespace instead.

Bad: the second connection from the same port fails or does not echo.
Clean: it connects and echoes."""
import json
import os

from lwipd import testing as harness

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "_g_reuse.py")
CHURN_PORT = 7777
ORACLE_PORT = 7778
LOCAL_PORT = 45001
# The churn server closes after one request; serialized, so that lwIP
# 2.0.x's select/close bug stays out of this scenario.
SERVER = ["--churn", "--churn-close", "idle=1000,requests=1",
          "--churn-serialize"]


def flags_text(f):
    return "".join(c for bit, c in ((0x02, "S"), (0x10, "A"), (0x01, "F"),
                                    (0x04, "R"), (0x08, "P")) if f & bit)


def lwip_side(env):
    """The segments on the client's port, in order ("host S", "lwIP RA"),
    once the capture holds the second SYN and what followed it (flushed
    every 100 ms)."""
    def segments():
        segs = [s for s in harness.tcp_segments(
            harness.read_pcap(env.d.pcap), env.d.ip)
            if s["host_port"] == LOCAL_PORT]
        syns = [i for i, s in enumerate(segs)
                if not s["from_lwip"] and s["flags"] & 0x12 == 0x02]
        if len(syns) >= 2 and len(segs) > syns[1] + 1:
            return segs
        return None

    try:
        segs = harness.wait_for(segments, 3, "the reconnect in the capture",
                                0.1)
    except TimeoutError:
        segs = []
    return [("lwIP " if s["from_lwip"] else "host ") + flags_text(s["flags"])
            for s in segs][:40]


def run(env):
    oracle = env.entry.get("oracle") == "linux" and env.role == "fixed"
    if oracle:
        env.log("oracle: the Linux kernel serves, not lwIP")
        cmd = ["--serve", harness.HOST_IP, str(ORACLE_PORT)]
    else:
        env.start(SERVER)
        cmd = [harness.LWIP_IP, str(CHURN_PORT)]
    r = env.ns.run([harness.PYTHON, SCRIPT] + cmd + [str(LOCAL_PORT)],
                   timeout=60, check=False)
    if r.returncode != 0:
        raise harness.HarnessError("_g_reuse.py failed (%d): %s" % (
            r.returncode, r.stderr[-2000:]))
    res = json.loads(r.stdout)
    first, second = res["first"], res["second"]
    if not (first["connected"] and first["echo"] and first["closed_by_peer"]):
        raise harness.HarnessError("the first exchange did not go as "
                                   "planned (server closes first): %r" % res)
    evidence = {"server": "linux" if oracle else "lwIP " + env.version,
                "first": first, "second": second}
    if not oracle:
        evidence["segments"] = lwip_side(env)
        evidence["time_wait_pcbs"] = env.ctl("leaks")["tcp"]["time_wait"]
    if second["connected"] and second["echo"]:
        return env.outcome(False, "reconnect from port %d at once: "
                           "connected and echoed in %.2f s" % (
                               LOCAL_PORT, second["seconds"]), evidence)
    return env.outcome(True, "reconnect from port %d at once: %s after "
                       "%.1f s (the server's end in TIME_WAIT)" % (
                           LOCAL_PORT, second["error"] or "no echo",
                           second["seconds"]), evidence)
