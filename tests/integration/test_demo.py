# SPDX-License-Identifier: MIT
"""scripts/demo, the README's first command, end to end: it must show what
the README says (iperf3 figures both ways, lwIP's client through lwipctl,
the cable pull, the loss rule with retransmissions, events as capture
comments, a report) and leave nothing behind."""
import json
import os
import subprocess

from lwipd import testing as harness


def test_demo_shows_the_mission_and_cleans_up(tmp_path):
    out = tmp_path / "demo"
    r = harness.run([harness.PYTHON, os.path.join(harness.TOP, "scripts", "demo.py"),
                     "--crash", "--out", str(out)], timeout=600, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    with open(out / "demo.json") as f:
        demo = json.load(f)
    assert demo["ok"] is True and all(demo["checks"].values()), demo["checks"]
    steps = demo["steps"]
    assert steps["iperf3"]["host_to_lwip_bps"] > 0 and steps["iperf3"]["lwip_to_host_bps"] > 0
    assert steps["cable"]["no_carrier"] is True
    iv = steps["cable"]["interval_mbit"]
    assert min(iv) < 0.5 * max(iv), iv  # the pull shows in the intervals
    assert steps["loss"]["rule"]["acted"] > 0 and steps["loss"]["retransmits"] > 0
    assert steps["capture"]["commented_frames"] > 0
    assert steps["crash"]["exit"] == 3 and os.path.exists(steps["crash"]["report"])
    with open(demo["report_html"]) as f:
        assert "<svg" in f.read()
    for line in ("iperf3", "cable", "loss", "capture", "report.html"):
        assert line in r.stdout, line
    # Nothing left: its namespace (and so every process in it) is gone.
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert demo["namespace"] not in left.split(), left
