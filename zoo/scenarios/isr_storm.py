# SPDX-License-Identifier: MIT
"""ISR heap re-entry: the TX-complete interrupt frees transmitted pbufs
(--txc-free isr) while the code it interrupted may be inside lwIP's heap.
The load is the one of tests/integration/test_isr.py: iperf2 into lwiperf,
arping every 10 ms, the cable pulled every 110-190 ms, an EMAC that
interrupts once per frame 20-70 us after the write.

Same storm, same bound (SECONDS) on every variant: a run is bad when lwipd
stops with a crash report (or any report of an ISR rule break); clean when
it ran the whole time with no report, no IRQ violation, the interrupt
really freeing under load, and lwIP's pools and heap back to their
baseline once the traffic stopped."""
import os
import subprocess
import time

from lwipd import testing as harness

SECONDS = 20
RULE = "re-entered a lock held by the interrupted context"


def txc_free(args):
    """The --txc-free mode in an lwipd argument list (default: task)."""
    for i, a in enumerate(args[:-1]):
        if a == "--txc-free":
            return args[i + 1]
    return "task"


def frames(stack):
    return [f["fn"] for f in (stack or {}).get("frames", [])]


def start_load(env, ip):
    procs = [
        env.ns.popen(
            ["iperf", "-c", ip, "-t", str(SECONDS + 5),
             "-i", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        env.ns.popen(
            ["arping", "-q", "-c", str(SECONDS * 100 + 100),
             "-i", "0.01", "-I", env.ns.tap, ip],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),]
    return procs


def stop_load(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()  # iperf2 may sit in a blocked send
        p.wait(timeout=10)


def detected(env, code, secs):
    reports = env.crash_reports()
    if not reports:
        return env.outcome(
            True, "lwipd stopped (exit %s) after %.1f s without a report" %
            (code, secs), {
                "exit": code, "seconds": round(
                    secs, 2)})
    rep = reports[0]
    viol = rep.get("violation") or {}
    evidence = {
        "exit": code,
        "seconds": round(secs, 2),
        "report": os.path.basename(rep["_path"]),
        "kind": rep.get("kind"),
        "rule": viol.get("rule"),
        "lock": viol.get("object"),
        "isr_stack": frames(rep.get("isr_stack"))[:12],
        "interrupted_stack": frames(rep.get("interrupted_stack"))[:12],
        "interrupted_thread": (rep.get("interrupted_stack") or {}).get(
            "thread"),
        "message": rep.get("message"),
    }
    if rep.get("kind") == "irq-violation":
        summary = ("report after %.2f s: %s (%s); ISR stack %s; "
                   "interrupted %s") % (
            secs, viol.get("rule"), viol.get("object"),
            " <- ".join(evidence["isr_stack"][:3]),
            " <- ".join(evidence["interrupted_stack"][:3]))
    else:
        summary = "report after %.2f s: %s %s" % (
            secs, rep.get("kind"), rep.get("message"))
    return env.outcome(True, summary, evidence)


def run(env):
    d = env.start(harness.STORM_FLAP + harness.STORM_EMAC)
    baseline = harness.pool_usage(env.stats())
    procs = start_load(env, d.ip)
    t0 = time.monotonic()
    try:
        try:
            code = d.proc.wait(timeout=SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        secs = time.monotonic() - t0
        if code is not None:
            d.returncode = code
            return detected(env, code, secs)
        st = env.stats()
    finally:
        stop_load(procs)
    drv = st["driver"]
    key = {
        "callback": "free_callback",
        "isr": "free_isr",
        "task": "free_task"}[
        txc_free(
            env.variant["args"])]
    evidence = {
        "seconds": SECONDS,
        "irq_violations": st["irq"]["violations"],
        "txc_isr_runs": drv["txc_isr_runs"],
        key: drv[key],
        "link_changes": drv["link_changes"],
        "tcp_recv": st["lwip"]["tcp"]["recv"]}
    # The storm really ran: otherwise "clean" would mean nothing.
    ran = (drv["txc_isr_runs"] > 100 and drv[key] > 1000 and
           drv["link_changes"] > SECONDS * 3 and
           st["lwip"]["tcp"]["recv"] > 1000)
    if not ran:
        raise harness.HarnessError("the storm did not run (%r)" % evidence)
    if st["irq"]["violations"]:
        return env.outcome(
            True, "%d IRQ rule breaks tolerated" %
            st["irq"]["violations"], evidence)
    harness.wait_for(
        lambda: env.stats()["driver"]["ring_used"] == 0,
        5,
        "TX ring drained")
    try:
        harness.wait_for_baseline(d, baseline, timeout=20)
    except AssertionError as e:
        evidence["not_back_to_baseline"] = str(e)
        return env.outcome(
            True,
            "pools or heap not back to baseline after the storm",
            evidence)
    summary = ("%d s of storm: %d ISR runs, %d frees by %s, %d link changes, "
               "no report, pools back to baseline") % (
        SECONDS, drv["txc_isr_runs"], drv[key], key, drv["link_changes"])
    return env.outcome(False, summary, evidence)
