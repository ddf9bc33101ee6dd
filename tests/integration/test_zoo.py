# SPDX-License-Identifier: MIT
"""The bug zoo (zoo/README.md): the catalogue is well-formed, its checks
refuse malformed entries, and one entry runs end to end to its verdict."""
import glob
import json
import os
import re
import sys

import pytest

from lwipd import testing as harness

ZOO = os.path.join(harness.TOP, "scripts", "zoo")
SCENARIOS = os.path.join(harness.TOP, "zoo", "scenarios")
MIRROR = os.path.join(os.path.dirname(harness.TOP), "shared", "lwip")
ENTRY_FIELDS = {"active": ("id", "title", "scenario", "evidence", "status",
                           "expect_affected", "expect_fixed", "ci",
                           "variant"),
                "rejected": ("id", "title", "status", "reason")}
EVIDENCE = {"lwip-assert", "crash-report", "capture", "stats", "leaks"}
# The cheapest entry: two builds (2.0.3, 2.1.3), under 10 s of run.
CHEAP = "tcp-kill-prio-live-connection"

sys.path.insert(0, harness.TOP)
from zoo import catalogue  # noqa: E402


def zoo(*args, timeout=60):
    return harness.run([ZOO] + list(args), timeout=timeout, check=False)


def mirror_versions():
    with open(os.path.join(MIRROR, "SHA256SUMS")) as f:
        names = [line.split()[1] for line in f if line.strip()]
    return {re.match(r"lwip-(.+)\.tar\.xz$", n).group(1) for n in names}


@pytest.fixture(scope="module")
def listed():
    r = zoo("list", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_catalogue_is_well_formed(listed):
    assert listed["problems"] == []
    entries = listed["entries"]
    files = sorted(os.path.basename(p)[:-5] for p in glob.glob(
        os.path.join(harness.TOP, "zoo", "entries", "*.toml")))
    assert sorted(e["id"] for e in entries) == files
    versions = mirror_versions()
    for e in entries:
        for field in ENTRY_FIELDS[e["status"]]:
            assert field in e, (e["id"], field)
        if e["status"] == "rejected":
            assert e["reason"].strip(), e["id"]
            continue
        assert e["evidence"] in EVIDENCE, e["id"]
        assert os.path.isfile(os.path.join(SCENARIOS, e["scenario"] + ".py"))
        roles = [v["role"] for v in e["variant"]]
        assert "affected" in roles and "fixed" in roles, e["id"]
        assert set(roles) <= {"affected", "fixed"}, e["id"]
        for v in e["variant"]:
            assert v["version"] in versions, (e["id"], v["version"])
        labels = [v["label"] for v in e["variant"]]
        assert len(set(labels)) == len(labels), (e["id"], labels)


def test_every_scenario_module_imports():
    names = [os.path.basename(p)[:-3]
             for p in glob.glob(os.path.join(SCENARIOS, "*.py"))]
    assert names
    for name in names:
        if name == "__init__":
            continue
        mod = catalogue.scenario_module(name)
        if not name.startswith("_"):  # shared helpers have no run()
            assert callable(getattr(mod, "run", None)), name


def test_catalogue_checks_refuse_malformed_entries():
    good = {"_file": "x-y.toml", "id": "x-y", "title": "t", "status": "active",
            "scenario": "select_close", "evidence": "stats", "reason": "",
            "expect_affected": "a", "expect_fixed": "f", "ci": False,
            "variant": [{"role": "affected", "version": "2.0.3", "meson": [],
                         "lwipopts": "", "args": [],
                         "label": "affected-2.0.3"},
                        {"role": "fixed", "version": "2.1.3", "meson": [],
                         "lwipopts": "", "args": [],
                         "label": "fixed-2.1.3"}]}
    versions = mirror_versions()
    assert catalogue.check([good], versions) == []
    bad = [
        dict(good, evidence="a hunch"),
        dict(good, scenario="no_such_scenario"),
        dict(good, id="other"),
        dict(good, status="maybe"),
        dict(good, variant=good["variant"][:1]),
        dict(good, variant=[dict(good["variant"][0], version="9.9.9"),
                            good["variant"][1]]),
        dict(good, status="rejected", reason=" "),
        {k: v for k, v in good.items() if k != "expect_fixed"},
    ]
    for e in bad:
        assert catalogue.check([e], versions), e


def test_usage_errors_and_table(listed):
    assert zoo("run").returncode == 64
    assert zoo("run", "no-such-entry").returncode == 64
    assert zoo("run", "--all", CHEAP).returncode == 64
    assert zoo("frobnicate").returncode == 64
    r = zoo("table")
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| `")]
    assert len(rows) == len(listed["entries"])


def test_cheap_entry_end_to_end():
    r = zoo("run", CHEAP, "--json", timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    out = json.loads(r.stdout)
    (res,) = out["entries"]
    assert res["id"] == CHEAP and res["verdict"] == "reproduced", res
    by_role = {v["role"]: v for v in res["variants"]}
    affected, fixed = by_role["affected"], by_role["fixed"]
    assert affected["bad"] and not fixed["bad"]
    # 2.0.3 reset a live connection for the extra one, its RST captured;
    # 2.1.3 kept them all and left the extra SYN unanswered.
    assert affected["evidence"]["broken"], affected
    assert affected["evidence"]["rst_from_lwip_to_ports"] == \
        affected["evidence"]["broken_ports"], affected
    assert affected["evidence"]["extra_connected"] is True
    assert fixed["evidence"]["broken"] == {}, fixed
    assert fixed["evidence"]["extra_connected"] is False
    assert fixed["evidence"]["tcp_memerr"] > 0
    for v in res["variants"]:
        for name in ("outcome.json", "lwipd.log", "capture.pcap",
                     "events.jsonl"):
            assert os.path.isfile(os.path.join(v["dir"], name)), (v["dir"],
                                                                  name)
    assert "zoo: " in r.stderr  # progress on stderr, JSON alone on stdout
    r = zoo("list", "--json")
    last = {e["id"]: e["last"] for e in json.loads(r.stdout)["entries"]}
    assert last[CHEAP]["run"] == out["run"]
    assert last[CHEAP]["verdict"] == "reproduced"
