# SPDX-License-Identifier: MIT
"""--link-flap random: up and down times drawn from their ranges with the
--seed. The events log records each time drawn ("link-flap" events); the
same seed draws the same schedule, the edges ("link" events) follow it, the
host's carrier changes at each of them, and the schedule stops after COUNT."""
import json
import os
import time

from lwipd import testing as harness
from lwipd.testing import read_events as events

UP, DOWN, COUNT = (60, 160), (30, 90), 6
SPEC = "random:%d-%d:%d-%d:%d" % (UP + DOWN + (COUNT,))
TIMER_TOL = 0.03 * harness.TIME_SCALE  # an edge's interval against the time drawn for it
WATCH_S = 5.0  # the carrier watch: lwipd's start, the schedule (<= 1.5 s), then quiet


def flap_run(netns, lwipd_factory, workdir, k, seed):
    """One lwipd running SPEC with SEED, the host's carrier watched meanwhile.
    Checks what one run must show; returns the drawn times and the edges'
    intervals."""
    ev = os.path.join(workdir, "events-%d.jsonl" % k)
    t_watch = time.time()
    watch = netns.carrier_watch(WATCH_S)
    d = lwipd_factory("--seed", str(seed), "--link-flap", SPEC, "--events", ev)
    harness.wait_for(lambda: any(e.get("end") for e in events(ev, "link-flap")),
                     10 * harness.TIME_SCALE, "the schedule's end in the events log")
    seen = json.loads(watch.communicate(timeout=30)[0])["changes"]
    # The watch outlived the schedule by two of its longest cycles: had it
    # gone on past COUNT, more edges would be below.
    assert d.stats()["driver"]["link_changes"] == 1 + 2 * COUNT  # initial up, then COUNT flaps
    assert d.request({"cmd": "link"})["link"] == "up"
    assert d.stop() == 0  # flushes the events log
    flap = events(ev, "link-flap")
    link = events(ev, "link")
    # The watch's first sample (the TAP's carrier before lwipd) came before
    # lwIP's first edge: it saw them all.
    assert seen and seen[0]["ts"] < link[0]["ts_ns"] / 1e9, (seen[:1], link[:1])

    # The schedule as recorded: cycle 0 (the first up time, and the schedule
    # itself), each edge with the time drawn for it, the last up ends it.
    start, last = flap[0], flap[-1]
    assert (start["mode"], start["up_ms"], start["down_ms"], start["count"]) == (
        "random", list(UP), list(DOWN), COUNT)
    assert [(e["state"], e["cycle"]) for e in flap] == [("up", 0)] + [
        (s, c) for c in range(1, COUNT + 1) for s in ("down", "up")]
    assert last["end"] == "count" and "hold_ms" not in last
    held = [e["hold_ms"] for e in flap[:-1]]  # up, down, up, ... down
    assert all(UP[0] <= h <= UP[1] for h in held[0::2]), held
    assert all(DOWN[0] <= h <= DOWN[1] for h in held[1::2]), held
    assert len(set(held)) > 2, held  # drawn, not fixed

    # The edges follow it: every interval between edges is the time drawn.
    assert [e["state"] for e in link] == ["up"] + ["down", "up"] * COUNT
    edges = [(e["state"] == "up", e["ts_ns"] / 1e9) for e in link[1:]]
    times = [start["ts_ns"] / 1e9] + [t for _, t in edges]
    intervals = [b - a for a, b in zip(times, times[1:])]
    for got, want in zip(intervals, held):
        assert abs(got - want / 1e3) < TIMER_TOL, (intervals, held)
    assert edges[-1][1] + 2 * (UP[1] + DOWN[1]) / 1e3 < t_watch + WATCH_S, \
        "the carrier watch ended too early to see the schedule stop"

    # The host saw each edge as a carrier change, at the same moment, and no
    # other after the first pull.
    seen = [(c["carrier"], c["ts"]) for c in seen if c["ts"] >= edges[0][1] - harness.CARRIER_TOL]
    assert [c for c, _ in seen] == [False, True] * COUNT, seen
    for (up, t), (carrier, ts) in zip(edges, seen):
        assert up == carrier and abs(ts - t) < harness.CARRIER_TOL, (up, t, carrier, ts)
    return held, intervals


def test_random_flaps_same_seed_same_schedule(netns, lwipd_factory, workdir):
    """Two runs with the same --seed: the same times drawn, and edges the
    same intervals apart (within the timers' tolerance)."""
    runs = [flap_run(netns, lwipd_factory, workdir, k, 20240604) for k in range(2)]
    (held0, iv0), (held1, iv1) = runs
    assert held0 == held1
    for a, b in zip(iv0, iv1):
        assert abs(a - b) < 2 * TIMER_TOL, (iv0, iv1)


def test_bad_random_schedules_refused(netns, workdir):
    """A bad schedule is a usage error naming the problem."""
    d = harness.Lwipd(netns, os.path.join(workdir, "x"))
    for bad, why in (("random:60-160", "random needs UP_MIN-UP_MAX:DOWN_MIN-DOWN_MAX"),
                     ("random:160-60:30-90", "UP range 160-60 ms runs backwards"),
                     ("random:60-160:0-90", "DOWN times must be at least 1 ms"),
                     ("random:60-x:30-90", "UP is not a time or a range of times"),
                     ("random:60-160:30-90:6:1", "too many fields")):
        r = netns.run([harness.LWIPD] + d.args + ["--link-flap", bad], check=False)
        assert r.returncode == 64 and "--link-flap: '%s': %s" % (bad, why) in r.stderr, (
            bad, r.returncode, r.stderr)
