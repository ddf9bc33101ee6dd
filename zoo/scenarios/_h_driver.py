# SPDX-License-Identifier: MIT
"""Shared by the driver bug mode scenarios (rows 2, 3, 4, 35): lwipd's
`--driver-bug` modes break the driver contract on purpose; these helpers
read what came of it (crash reports, the driver's counters)."""
from lwipd import testing as harness


def driver(env):
    """The driver's counters (lwipctl stats --json, "driver")."""
    return env.stats()["driver"]


def stopped(env):
    """lwipd has exited or written a crash report."""
    return env.exited() is not None or bool(env.crash_reports())


def alive_request(env, fn):
    """fn(), or None when lwipd is stopping under the request."""
    try:
        return fn()
    except (OSError, EOFError, ValueError, harness.HarnessError):
        if stopped(env):
            return None
        raise


def crash_evidence(env, evidence):
    """When lwipd stopped: fill EVIDENCE (exit code, report paths, the
    first report's kind, message and lwIP-side stack) and return the
    report (a dict, {} for an exit without one); None while it runs."""
    try:
        harness.wait_for(lambda: stopped(env), 1, "a crash report")
    except TimeoutError:
        return None
    try:  # the report is written before the exit
        harness.wait_for(lambda: env.exited() is not None, 5, "lwipd's exit")
    except TimeoutError:
        pass
    reports = env.crash_reports()
    evidence["exit_code"] = env.exited()
    evidence["crash_reports"] = [r["_path"] for r in reports]
    if not reports:
        return {}
    rep = reports[0]
    # In an ISR the report has the handler's stack and the one it stopped.
    evidence.update(kind=rep.get("kind"), message=rep.get("message"),
                    in_isr=rep.get("in_isr", False),
                    stack=_fns(rep.get("stack") or rep.get("isr_stack")),
                    config_driver_bug=rep.get("config", {}).get("driver_bug"))
    if rep.get("interrupted_stack"):
        evidence["interrupted_stack"] = _fns(rep["interrupted_stack"])
    return rep


def _fns(stack):
    """The function names of a crash report's stack, innermost first."""
    fns = [f.get("fn") for f in (stack or {}).get("frames", [])]
    return [fn for fn in fns if fn][:16]
