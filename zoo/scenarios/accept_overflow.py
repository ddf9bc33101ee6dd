# SPDX-License-Identifier: MIT
"""Accept mailbox overflow: the churn server falls behind (it cleans up the
sockets whose peer left only every 100 ms) while lwipd-churn connects and
closes at full speed for 6 s. lwIP's netconns run out, accept_function()
queues an error marker in the accept mailbox for each connection it cannot
take, and once a netconn is free the next connection finds the mailbox
full. lwIP >= 2.1 with LWIP_NETCONN_FULLDUPLEX=1 frees that netconn through
netconn_drain(), which asserts "netconn marked closed" (esp-idf #3842).

Bad: lwipd stops with the lwIP assert (its crash report). Clean: lwipd
survived although lwIP ran out of netconns (memp NETCONN err > 0: the
condition was reached, otherwise the run is an error), and afterwards no
socket slot is stuck and the pools and heap are back to the baseline."""
import json

from lwipd import testing as harness

PORT = 7777
SERVER = ["--churn", "--churn-close", "idle=100,peer=0", "--churn-serialize"]
ASSERT = "netconn marked closed"


CLIENT = ["-c", "16", "-n", "1000000", "-t", "6", "-p", "client-close",
          "-s", "0", "--timeout", "2000"]


def churn(env):
    cmd = [env.binaries.churn] + CLIENT + [harness.LWIP_IP, str(PORT)]
    r = env.ns.run(cmd, timeout=60, check=False)
    if r.returncode not in (0, 1):
        raise harness.HarnessError("lwipd-churn failed (%d): %s" %
                                   (r.returncode, r.stderr))
    res = json.loads(r.stdout)
    env.log("client: %d started, %d ok, %d failed in %.1f s" % (
        res["started"], res["ok"], res["failed"], res["seconds"]))
    return res


def settle(env):
    """lwIP works through the backlog after the clients are done, so the
    assert may still come: wait until lwipd is quiet or gone."""
    def settled():
        if env.exited() is not None:
            return "gone"
        try:
            quiet = env.stats()["apps"]["churn"]["in_use"] == 0
        except (OSError, EOFError, ValueError):
            return None  # dying under our request: look again
        return "quiet" if quiet else None

    return harness.wait_for(settled, 20, "lwipd quiet or gone", interval=0.1)


def stopped(env, d, res, evidence):
    code = d.proc.wait(timeout=10)
    d.returncode = code
    evidence["exit"] = code
    for rep in env.crash_reports()[:1]:
        frames = (rep.get("stack") or {}).get("frames", [])
        evidence.update(report=rep["_path"].rsplit("/", 1)[-1],
                        kind=rep.get("kind"), message=rep.get("message"),
                        stack=[f["fn"] for f in frames][:10])
    log = d.read_log()
    if ASSERT not in log:
        raise harness.HarnessError("lwipd stopped (exit %s) but not on %r:\n%s"
                                   % (code, ASSERT, log[-2000:]))
    return env.outcome(True, "lwipd stopped (exit %s) on the lwIP assert %r "
                       "after %d connections" % (code, ASSERT, res["started"]),
                       evidence)


def survived(env, d, res, evidence):
    netconn = env.stats()["lwip"]["memp"]["NETCONN"]
    evidence["memp_NETCONN"] = netconn
    if not netconn["err"]:
        raise harness.HarnessError(
            "lwIP never ran out of netconns (NETCONN err 0): the overflow "
            "was not reached, nothing to call clean")
    probe = env.ctl("sockets", probe=True, timeout=30)
    if not probe.get("ok"):
        raise harness.HarnessError("sockets probe failed: %r" % probe)
    stuck = probe["probe"]["stuck"]
    evidence["stuck_slots"] = stuck
    clean, last = d.wait_leaks_clean(10)
    evidence["leaks_clean"] = clean
    with open(env.dir + "/leaks.json", "w") as f:
        json.dump(last, f, indent=1)
    if stuck or not clean:
        return env.outcome(True, "survived, but %d stuck slots, leaks %s" % (
            len(stuck), "clean" if clean else "NOT clean (leaks.json)"),
            evidence)
    return env.outcome(False, "survived %d connections with netconns "
                       "exhausted %d times; no stuck slot, pools and heap "
                       "back to baseline" % (res["started"], netconn["err"]),
                       evidence)


def run(env):
    d = env.start(SERVER)
    build = env.ctl("version")["build"]
    res = churn(env)
    evidence = {
        "client": {k: res.get(k) for k in ("started", "ok", "failed",
                                           "failures", "seconds")},
        "LWIP_NETCONN_FULLDUPLEX":
            build["options"].get("LWIP_NETCONN_FULLDUPLEX"),
        "lwip": build["lwip"],
        "lwipopts": build["lwipopts"],
    }
    if settle(env) == "gone":
        return stopped(env, d, res, evidence)
    return survived(env, d, res, evidence)
