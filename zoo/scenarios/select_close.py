# SPDX-License-Identifier: MIT
"""The select/close socket leak: the churn server's closer closes sockets its
selector thread is waiting on in lwip_select(), while lwipd-churn opens and
closes 20,000 connections (16 at a time). On lwIP 2.0.2/2.0.3 each such close
leaves the slot's select_waiting raised, the slot is never reused, and
accept()/socket() end with ENFILE while nothing is open; `sockets probe`
names the stuck slots. From 2.1.0 the race is harmless."""
import json

from lwipd import testing as harness

PORT = 7777
CONNECTIONS = 20000
SERVER = ["--churn", "--churn-close", "idle=20,requests=1,random=2"]
PATTERNS = "client-close,server-close,rst,half-close"
# A clean run only means something when the race was really run this often.
MIN_CLOSES_DURING_SELECT = 1000


def churn(env, count, seconds=60, timeout_ms=3000):
    r = env.ns.run(
        [env.binaries.churn, "-c", "16", "-n", str(count),
         "-t", str(seconds),
         "-p", PATTERNS, "-s", "1", "--timeout", str(timeout_ms),
         harness.LWIP_IP, str(PORT)],
        timeout=seconds + timeout_ms / 1000 + 30, check=False)
    if r.returncode not in (0, 1):
        raise harness.HarnessError(
            "lwipd-churn failed (%d): %s" %
            (r.returncode, r.stderr))
    return json.loads(r.stdout)


def run(env):
    env.start(SERVER)
    res = churn(env, CONNECTIONS)
    env.log("client: %d started, %d ok, %d failed in %.1f s" % (
        res["started"], res["ok"], res["failed"], res["seconds"]))
    harness.wait_for(
        lambda: env.stats()["apps"]["churn"]["in_use"] == 0,
        15,
        "the churn server to close every client socket",
        interval=0.1)
    st = env.stats()["apps"]["churn"]
    resp = env.ctl("sockets", probe=True, timeout=30)
    if not resp.get("ok"):
        raise harness.HarnessError("sockets probe failed: %r" % resp)
    p = resp["probe"]
    with open(env.dir + "/sockets-probe.json", "w") as f:
        json.dump(resp, f, indent=1)
    probe_text = env.lwipctl("sockets", "probe").stdout
    with open(env.dir + "/sockets-probe.txt", "w") as f:
        f.write(probe_text)
    enfile = st["accept_fail"].get("ENFILE", 0)
    evidence = {
        "accept_fail": st["accept_fail"],
        "socket_fail": st.get("socket_fail"),
        "closes_during_select": st["closes_during_select"],
        "accepted": st["accepted"],
        "stuck_slots": [
            s.get(
                "slot",
                s) if isinstance(
                s,
                dict) else s for s in p["stuck"]],
        "open_slots": p["open"],
        "num_sockets": p["num_sockets"],
        "stopped_by": p.get("stopped_by"),
        "cause": p.get("cause"),
        "client": {
            k: res.get(k) for k in (
                "started",
                "ok",
                "failed",
                "failures",
                "seconds")},
    }
    bad = enfile > 0 or bool(p["stuck"])
    if bad:
        summary = ("accept() failed %d times with ENFILE; %d of %d slots "
                   "stuck with %d open (%s)") % (
            enfile, len(p["stuck"]), p["num_sockets"], len(p["open"]),
            p.get("cause"))
    else:
        if st["closes_during_select"] < MIN_CLOSES_DURING_SELECT:
            raise harness.HarnessError(
                "only %d closes during select: the race did not run often "
                "enough to call this clean" % st["closes_during_select"])
        summary = ("%d closes during select, %d accepted, no ENFILE, "
                   "no stuck slot") % (st["closes_during_select"],
                                       st["accepted"])
    return env.outcome(bad, summary, evidence)
