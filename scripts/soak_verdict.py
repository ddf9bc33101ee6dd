# SPDX-License-Identifier: MIT
"""The soak's arithmetic (scripts/soak): least-squares slopes over the
samples, the summaries of RSS, fds and threads, and the verdict. Pure
functions of plain data, so that tests/integration/test_soak_verdict.py can
check them without lwipd.

The growth rules, and why:
- RSS: the issue's target is "flat within 1 MB over the hour". A run of an
  hour or more is held to a fitted slope of at most RSS_LIMIT_KB per hour. A
  shorter run cannot resolve a slope that small (RSS moves in 4 KiB pages and
  allocator arenas, and lwIP's static pools and heap are touched page by
  page as their high-water marks rise), so it is held to the same 1 MB over
  its own measured window: slope <= RSS_LIMIT_KB / window_hours. A steady
  leak of 1 MB per minute still fails a 3-minute run.
- fds and threads: flat means the count after the load (settled) is the
  count before it, give or take FD_TOL control clients that may be connected
  when a sample is taken, and the fitted growth over the window is within
  the same tolerance. Threads: tolerance THREAD_TOL (lwipd's threads are
  fixed at start).
"""

RSS_LIMIT_KB = 1024
FD_TOL = 3
THREAD_TOL = 0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def slope(points):
    """Least-squares slope of [(x, y)], in y per x; None with fewer than two
    distinct x."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def warmup_seconds(minutes):
    """The warm-up left out of the slopes: 10 % of the run, at least 60 s
    and at most 300 s (pools and heap reach their high-water marks, the
    allocator its arenas)."""
    return min(300.0, max(60.0, 0.1 * minutes * 60))


def summarize(samples, key, warmup_s):
    """{start, end, max, slope_per_hour, window_s, points} of the value KEY of
    SAMPLES ([{"t": seconds since start, KEY: value}], in time order; a
    sample without KEY is skipped). start is the first sample, end the
    last; the slope is fitted over the samples at t >= WARMUP_S."""
    vals = [(s["t"], s[key]) for s in samples if s.get(key) is not None]
    if not vals:
        return {"start": None, "end": None, "max": None, "slope_per_hour": None,
                "window_s": 0, "points": 0}
    late = [(t, v) for t, v in vals if t >= warmup_s]
    k = slope(late)
    return {"start": vals[0][1], "end": vals[-1][1], "max": max(v for _, v in vals),
            "slope_per_hour": None if k is None else k * 3600.0,
            "window_s": (late[-1][0] - late[0][0]) if late else 0, "points": len(late)}


def rss_limit_kb_per_hour(window_s):
    """The RSS slope limit for a fitted window of WINDOW_S seconds (see the
    module's comment): 1 MB over the window, at least as strict as 1 MB per
    hour."""
    hours = max(window_s, 1.0) / 3600.0
    return RSS_LIMIT_KB / min(hours, 1.0)


def count_sanitizer_reports(log_text):
    """How many sanitizer reports a log holds (their header lines)."""
    return sum(line.count(m) for line in log_text.splitlines() for m in SANITIZER_MARKS)


def _flat(name, s, tol, failures):
    if s["start"] is None:
        failures.append("%s: no samples" % name)
        return
    if s["end"] - s["start"] > tol:
        failures.append("%s grew from %d to %d (tolerance %d)" % (name, s["start"], s["end"], tol))
    if s["slope_per_hour"] is not None and s["window_s"] > 0:
        growth = s["slope_per_hour"] * s["window_s"] / 3600.0
        if growth > tol:
            failures.append("%s: fitted growth %.1f over %.0f s (tolerance %d)" % (
                name, growth, s["window_s"], tol))


def judge(facts):
    """The verdict from the soak's FACTS, a dict with: minutes, samples
    (see summarize: keys rss_kb, fds, threads), warmup_s, crashes, asserts,
    sanitizer_reports, leaks ({"clean": bool, ...} or None when not
    checked), bytes_moved, link_edges, connections, iperf3_runs,
    exit_code (lwipd's at the end; None if unknown), errors (a list of
    what went wrong in the soak itself). Returns the verdict dict; its
    "failures" say why "ok" is false."""
    failures = list(facts.get("errors", ()))
    samples = facts["samples"]
    warm = facts["warmup_s"]
    rss = summarize(samples, "rss_kb", warm)
    fds = summarize(samples, "fds", warm)
    thr = summarize(samples, "threads", warm)
    for what in ("crashes", "asserts", "sanitizer_reports"):
        if facts[what]:
            failures.append("%s: %d" % (what, facts[what]))
    if facts.get("exit_code") not in (0, None):
        failures.append("lwipd exited %s at the end (0 expected on SIGTERM)" % facts["exit_code"])
    leaks = facts.get("leaks")
    if leaks is None:
        failures.append("leaks: not checked")
    elif not leaks.get("clean"):
        failures.append("leaks: %s" % (leaks.get("leaked") or "not clean"))
    limit = rss_limit_kb_per_hour(rss["window_s"])
    if rss["points"] < 3:
        failures.append("rss: %d samples after the warm-up, 3 needed for a slope" % rss["points"])
    elif rss["slope_per_hour"] > limit:
        failures.append("rss slope %.0f kB/h over the %.0f kB/h limit" % (
            rss["slope_per_hour"], limit))
    _flat("fds", fds, FD_TOL, failures)
    _flat("threads", thr, THREAD_TOL, failures)
    for what in ("bytes_moved", "link_edges", "connections", "iperf3_runs"):
        if not facts[what] or facts[what] <= 0:
            failures.append("no load: %s is %s" % (what, facts[what]))

    def growth(s, unit):
        return {"start": s["start"], "end": s["end"], "max": s["max"],
                "slope_%s_per_hour" % unit: s["slope_per_hour"]}

    rss_out = growth(rss, "kb")
    rss_out["limit_kb_per_hour"] = limit
    return {"ok": not failures, "minutes": facts["minutes"], "crashes": facts["crashes"],
            "asserts": facts["asserts"], "sanitizer_reports": facts["sanitizer_reports"],
            "leaks": leaks, "rss_kb": rss_out, "fds": growth(fds, "fds"),
            "threads": growth(thr, "threads"), "bytes_moved": facts["bytes_moved"],
            "link_edges": facts["link_edges"], "connections": facts["connections"],
            "iperf3_runs": facts["iperf3_runs"], "warmup_s": warm,
            "samples": len(samples), "failures": failures}
