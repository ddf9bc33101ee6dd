# SPDX-License-Identifier: MIT
"""lwip_accept() on a connection the peer reset while it waited in the
accept mailbox: netconn_peer() fails (the pcb is gone) and lwIP <= 2.1.2
deletes the netconn twice (netconn_delete(), then free_socket() again;
bug #55536, fixed in 2.1.3). The churn server falls behind (idle cleanup
every 100 ms, serialized) while lwipd-churn connects and resets (SO_LINGER
0, no payload) at full speed for 6 s. Both variants are built with
LWIP_NETCONN_FULLDUPLEX=0, so that the accept mailbox overflow assert of
2.1.x (zoo entry accept-mbox-overflow) stays out of this scenario.

Bad: lwipd stops with a report, or lwIP's NETCONN pool is corrupted
(memp "illegal" > 0, a leak report that is not clean, stuck slots).
Clean: none of that, and accept() really failed on reset connections
(apps.churn.accept_fail: the path was taken; otherwise error)."""
import json

from lwipd import testing as harness

PORT = 7777
SERVER = ["--churn", "--churn-close", "idle=100,peer=0", "--churn-serialize"]
CLIENT = ["-c", "16", "-n", "1000000", "-t", "6", "-p", "rst", "-s", "0",
          "--timeout", "2000"]


def settle(env):
    def settled():
        if env.exited() is not None:
            return "gone"
        try:
            quiet = env.stats()["apps"]["churn"]["in_use"] == 0
        except (OSError, EOFError, ValueError):
            return None
        return "quiet" if quiet else None

    return harness.wait_for(settled, 20, "lwipd quiet or gone", interval=0.1)


def run(env):
    d = env.start(SERVER)
    build = env.ctl("version")["build"]
    cmd = [env.binaries.churn] + CLIENT + [harness.LWIP_IP, str(PORT)]
    r = env.ns.run(cmd, timeout=60, check=False)
    if r.returncode not in (0, 1):
        raise harness.HarnessError("lwipd-churn failed (%d): %s" % (
            r.returncode, r.stderr))
    res = json.loads(r.stdout)
    env.log("client: %d connections in %.1f s" % (
        res["started"], res["seconds"]))
    evidence = {"connections": res["started"],
                "LWIP_NETCONN_FULLDUPLEX":
                    build["options"].get("LWIP_NETCONN_FULLDUPLEX")}
    if settle(env) == "gone":
        code = d.proc.wait(timeout=10)
        d.returncode = code
        evidence["exit"] = code
        for rep in env.crash_reports()[:1]:
            frames = (rep.get("stack") or {}).get("frames", [])
            evidence.update(report=rep["_path"].rsplit("/", 1)[-1],
                            kind=rep.get("kind"), message=rep.get("message"),
                            stack=[f["fn"] for f in frames][:12])
        return env.outcome(True, "lwipd stopped (exit %s): %s %s" % (
            code, evidence.get("kind"), evidence.get("message")), evidence)
    st = env.stats()
    churn = st["apps"]["churn"]
    netconn = st["lwip"]["memp"]["NETCONN"]
    evidence.update(accept_fail=churn["accept_fail"], memp_NETCONN=netconn)
    probe = env.ctl("sockets", probe=True, timeout=30)
    stuck = probe.get("probe", {}).get("stuck")
    clean, last = d.wait_leaks_clean(10)
    with open(env.dir + "/leaks.json", "w") as f:
        json.dump(last, f, indent=1)
    evidence.update(stuck_slots=stuck, leaks_clean=clean,
                    leaked=last.get("leaked"))
    if netconn["illegal"] or not clean or stuck:
        leaks = "clean" if clean else "NOT clean %s" % last.get("leaked")
        return env.outcome(True, "NETCONN pool: illegal %d, leaks %s, %d "
                           "stuck slots" % (netconn["illegal"], leaks,
                                            len(stuck or [])), evidence)
    if not churn["accept_fail"]:
        raise harness.HarnessError("accept() never failed: no reset "
                                   "connection reached lwip_accept()")
    return env.outcome(False, "accept() failed %s on reset connections; "
                       "pools and slots clean" % churn["accept_fail"],
                       evidence)
