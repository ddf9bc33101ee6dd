# SPDX-License-Identifier: MIT
"""scripts/soak's arithmetic (scripts/soak_verdict.py): the least-squares
slope, the summaries and the verdict, on made-up samples. No lwipd."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
import soak_verdict as sv  # noqa: E402


def samples(n, rss=lambda t: 30000, fds=lambda t: 40, threads=lambda t: 10, step=10):
    return [{"t": i * step, "rss_kb": rss(i * step), "fds": fds(i * step),
             "threads": threads(i * step)} for i in range(n)]


def facts(**over):
    f = {"minutes": 3, "samples": samples(19), "warmup_s": 60, "crashes": 0, "asserts": 0,
         "sanitizer_reports": 0, "leaks": {"clean": True, "leaked": {}},
         "bytes_moved": 10 ** 8, "link_edges": 91, "connections": 2000, "iperf3_runs": 12,
         "exit_code": 0, "errors": []}
    f.update(over)
    return f


def test_slope_of_a_line_and_of_noise():
    assert sv.slope([(0, 5), (10, 25), (20, 45)]) == pytest.approx(2.0)
    assert sv.slope([(0, 1), (1, 3), (2, 1), (3, 3)]) == pytest.approx(0.4)
    assert sv.slope([(0, 7), (10, 7), (20, 7)]) == 0
    assert sv.slope([(5, 1)]) is None and sv.slope([]) is None
    assert sv.slope([(5, 1), (5, 2)]) is None  # no spread in x


def test_summary_fits_after_the_warm_up_only():
    # Steep growth during the warm-up (pools touched), flat after it.
    s = samples(40, rss=lambda t: 20000 + 100 * min(t, 60))
    r = sv.summarize(s, "rss_kb", 60)
    assert r["start"] == 20000 and r["end"] == 26000 and r["max"] == 26000
    assert r["slope_per_hour"] == pytest.approx(0)
    assert r["points"] == 34 and r["window_s"] == 330
    whole = sv.summarize(s, "rss_kb", 0)
    assert whole["slope_per_hour"] > 0


def test_summary_skips_missing_values_and_handles_none():
    s = samples(10) + [{"t": 100}]
    assert sv.summarize(s, "fds", 0)["end"] == 40
    empty = sv.summarize([], "fds", 0)
    assert empty["start"] is None and empty["slope_per_hour"] is None


def test_rss_limit_is_one_megabyte_over_the_window_or_per_hour():
    assert sv.rss_limit_kb_per_hour(3600) == 1024
    assert sv.rss_limit_kb_per_hour(4 * 3600) == 1024
    assert sv.rss_limit_kb_per_hour(120) == pytest.approx(1024 * 30)


def test_warm_up():
    assert sv.warmup_seconds(3) == 60
    assert sv.warmup_seconds(20) == 120
    assert sv.warmup_seconds(60) == 300


def test_green_verdict():
    v = sv.judge(facts())
    assert v["ok"] is True and v["failures"] == []
    assert v["rss_kb"]["slope_kb_per_hour"] == 0 and v["fds"]["slope_fds_per_hour"] == 0
    for k in ("minutes", "crashes", "asserts", "sanitizer_reports", "leaks", "bytes_moved",
              "link_edges", "connections", "iperf3_runs", "threads"):
        assert k in v


@pytest.mark.parametrize("over, why", [
    ({"crashes": 1}, "crashes: 1"),
    ({"asserts": 2}, "asserts: 2"),
    ({"sanitizer_reports": 1}, "sanitizer_reports: 1"),
    ({"exit_code": 3}, "lwipd exited 3"),
    ({"leaks": {"clean": False, "leaked": {"PBUF_POOL": 2}}}, "PBUF_POOL"),
    ({"leaks": None}, "leaks: not checked"),
    ({"bytes_moved": 0}, "bytes_moved"),
    ({"link_edges": 0}, "link_edges"),
    ({"connections": 0}, "connections"),
    ({"iperf3_runs": 0}, "iperf3_runs"),
    ({"errors": ["interrupted by SIGTERM"]}, "interrupted"),
])
def test_each_red_reason(over, why):
    v = sv.judge(facts(**over))
    assert v["ok"] is False
    assert any(why in f for f in v["failures"]), v["failures"]


def test_rss_growth_fails_a_short_run_and_noise_does_not():
    # 1 MB a minute after the warm-up: far over 1 MB over the 2-minute window.
    v = sv.judge(facts(samples=samples(19, rss=lambda t: 30000 + 17 * t)))
    assert not v["ok"] and any("rss slope" in f for f in v["failures"])
    # A few pages up and down: flat.
    v = sv.judge(facts(samples=samples(19, rss=lambda t: 30000 + (8 if t % 20 else 0))))
    assert v["ok"], v["failures"]


def test_rss_slope_of_an_hour_is_held_to_one_megabyte_per_hour():
    hour = samples(361, rss=lambda t: 30000 + t * 1500 / 3600)  # 1.5 MB/h
    v = sv.judge(facts(minutes=60, samples=hour, warmup_s=300))
    assert not v["ok"] and v["rss_kb"]["slope_kb_per_hour"] == pytest.approx(1500)
    flat = samples(361, rss=lambda t: 30000 + t * 500 / 3600)
    assert sv.judge(facts(minutes=60, samples=flat, warmup_s=300))["ok"]


def test_too_few_samples_for_a_slope_is_red():
    v = sv.judge(facts(samples=samples(7)))  # 0..60 s: one sample after the warm-up
    assert not v["ok"] and any("3 needed" in f for f in v["failures"])


def test_fd_and_thread_growth():
    v = sv.judge(facts(samples=samples(19, fds=lambda t: 40 + t // 10)))
    assert not v["ok"] and any(f.startswith("fds") for f in v["failures"])
    # Control clients connected at sample time: within the tolerance.
    v = sv.judge(facts(samples=samples(19, fds=lambda t: 40 + (2 if t % 30 else 0))))
    assert v["ok"], v["failures"]
    v = sv.judge(facts(samples=samples(19, threads=lambda t: 10 + (t > 100))))
    assert not v["ok"] and any(f.startswith("threads") for f in v["failures"])


def test_sanitizer_reports_are_counted_from_the_log():
    log = ("lwipd: up\n==1==ERROR: AddressSanitizer: heap-use-after-free\n"
           "x.c:3:5: runtime error: signed integer overflow\nfine\n")
    assert sv.count_sanitizer_reports(log) == 2
    assert sv.count_sanitizer_reports("READY\nlwipd: stopping\n") == 0
