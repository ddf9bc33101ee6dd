# SPDX-License-Identifier: MIT
"""scripts/zoo: list the bug zoo, run its entries on the lwIP versions that
have and that fixed each bug, give a differential verdict, print the README
table. Usage in zoo/README.md; exit codes follow sysexits.h."""
import argparse
import datetime
import json
import os
import signal
import sys
import time
import traceback

from zoo import builds, catalogue
from zoo.env import Env, progress_to_stderr

EX_OK, EX_FAIL, EX_USAGE, EX_DATAERR, EX_NOPERM = 0, 1, 64, 65, 77
LAST = os.path.join(builds.ZOO_DIR, "last.json")
RUNS = os.path.join(builds.ZOO_DIR, "runs")

REPRODUCED, NOT_REPRODUCED, ERROR = "reproduced", "not-reproduced", "error"


class UsageError(Exception):
    pass


def read_last():
    try:
        with open(LAST) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_last(results):
    last = read_last()
    for r in results:
        last[r["id"]] = {k: r[k]
                         for k in ("verdict", "run", "at", "seconds", "dir")}
    os.makedirs(builds.ZOO_DIR, exist_ok=True)
    tmp = LAST + ".tmp"
    with open(tmp, "w") as f:
        json.dump(last, f, indent=1, sort_keys=True)
    os.replace(tmp, LAST)


def load_checked():
    """The catalogue, or CatalogueError when it is malformed."""
    entries = catalogue.load()
    problems = catalogue.check(entries)
    if problems:
        raise catalogue.CatalogueError(
            "the catalogue is malformed:\n  " +
            "\n  ".join(problems))
    return entries


def variant_text(v):
    extra = list(v["meson"]) + list(v["args"])
    if v["lwipopts"]:
        extra.append("lwipopts=" + v["lwipopts"])
    return v["version"] + (" (%s)" % " ".join(extra) if extra else "")


# ---- list --------------------------------------------------------------

def cmd_list(args):
    entries = catalogue.load()
    problems = catalogue.check(entries)
    last = read_last()
    rows = []
    for e in entries:
        row = catalogue.public(e)
        row["last"] = last.get(e["id"])
        rows.append(row)
    if args.json:
        json.dump({"entries": rows, "problems": problems},
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for e in rows:
            if e["status"] == "rejected":
                verdict = "rejected"
            else:
                verdict = (e["last"] or {}).get("verdict", "never run")
            print("%-32s %-15s %s" % (e["id"], verdict, e["title"]))
            for v in e.get("variant", []):
                print("    %-8s %s" % (v["role"], variant_text(v)))
        for p in problems:
            print("problem: " + p, file=sys.stderr)
    return EX_DATAERR if problems else EX_OK


# ---- table -------------------------------------------------------------

def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def first_sentence(text, limit=160):
    """The reason's first sentence, for a table cell."""
    text = " ".join(text.split())
    end = text.find(". ")
    if end >= 0:
        text = text[:end + 1]
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def cmd_table(args):
    """The README's "What lwipd catches" table, in Markdown."""
    entries = catalogue.load()
    last = read_last()
    out = [
        "| id | bug | affected | fixed | verdict | evidence |",
        "|---|---|---|---|---|---|"]

    def order(e):
        return (e["status"] != "active", e["id"])

    for e in sorted(entries, key=order):
        vs = e.get("variant", [])
        affected = "<br>".join("`%s`" % _md(variant_text(v))
                               for v in vs if v["role"] == "affected")
        fixed = "<br>".join("`%s`" % _md(variant_text(v))
                            for v in vs if v["role"] == "fixed")
        if e["status"] == "rejected":
            verdict = "rejected: " + _md(first_sentence(e["reason"]))
            evidence = "-"
        else:
            verdict = (last.get(e["id"]) or {}).get("verdict", "not run yet")
            evidence = e["evidence"]
        row = e.get("row")
        bug = _md(e["title"]) + (" (row %s)" % row if row is not None else "")
        out.append(
            "| `%s` | %s | %s | %s | %s | %s |" %
            (e["id"], bug, affected or "-", fixed or "-", verdict, evidence))
    print("\n".join(out))
    return EX_OK


# ---- run ---------------------------------------------------------------

def run_variant(entry, variant, run_dir, progress):
    """Build and run one variant; returns its record (outcome.json)."""
    t0 = time.monotonic()
    rec = {
        "role": variant["role"],
        "version": variant["version"],
        "label": variant["label"],
        "meson": variant["meson"],
        "lwipopts": variant["lwipopts"],
        "args": variant["args"],
        "bad": None,
        "summary": "",
        "evidence": {},
        "error": None}
    vdir = os.path.join(run_dir, variant["label"])
    os.makedirs(vdir, exist_ok=True)
    rec["dir"] = vdir
    try:
        b = builds.build(
            variant, lambda m: progress(
                "%s: %s" %
                (entry["id"], m)))
        rec["build"] = b.dir
    except (builds.BuildError, OSError, TimeoutError) as e:
        rec["error"] = "build: %s" % e
        return _finish(rec, t0)
    env = None
    try:
        mod = catalogue.scenario_module(entry["scenario"])
        env = Env(entry, variant, b, vdir, progress)
        env.log("scenario %s" % entry["scenario"])
        out = mod.run(env)
        if not isinstance(out, dict) or "bad" not in out:
            raise TypeError("scenario %s returned %r, not env.outcome(...)" %
                            (entry["scenario"], out))
        rec.update(
            bad=out["bad"],
            summary=out["summary"],
            evidence=out["evidence"])
    except KeyboardInterrupt:
        rec["error"] = "interrupted"
        raise
    except Exception as e:  # the scenario failed: verdict "error", traced
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        rec["traceback"] = traceback.format_exc()
    finally:
        if env is not None:
            try:
                rec["teardown"] = env.teardown()
            except Exception as e:
                rec["error"] = rec["error"] or "teardown: %s: %s" % (
                    type(e).__name__, e)
        _finish(rec, t0)
    return rec


def _finish(rec, t0):
    rec["seconds"] = round(time.monotonic() - t0, 1)
    rec["files"] = sorted(os.listdir(rec["dir"]))
    with open(os.path.join(rec["dir"], "outcome.json"), "w") as f:
        json.dump(rec, f, indent=1)
    return rec


def verdict_of(records):
    if any(r["error"] for r in records):
        return ERROR
    affected = [r for r in records if r["role"] == "affected"]
    fixed = [r for r in records if r["role"] == "fixed"]
    if affected and all(r["bad"] for r in affected) and fixed and not any(
            r["bad"] for r in fixed):
        return REPRODUCED
    return NOT_REPRODUCED


def run_entry(entry, run_id, run_root, progress):
    t0 = time.monotonic()
    run_dir = os.path.join(run_root, entry["id"])
    os.makedirs(run_dir, exist_ok=True)
    records = []
    try:
        for v in entry["variant"]:
            progress("%s: %s: %s" % (entry["id"], v["label"], variant_text(v)))
            r = run_variant(entry, v, run_dir, progress)
            records.append(r)
            what = "error: " + \
                r["error"] if r["error"] else ("bad" if r["bad"] else "clean")
            progress(
                "%s: %s: %s (%.0f s) %s" %
                (entry["id"],
                 v["label"],
                    what,
                    r["seconds"],
                    r["summary"]))
    finally:
        verdict = verdict_of(records) if len(
            records) == len(entry["variant"]) else ERROR
        res = {
            "id": entry["id"],
            "verdict": verdict,
            "run": run_id,
            "at": datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(
                time.monotonic() - t0,
                1),
            "dir": run_dir,
            "evidence_kind": entry["evidence"],
            "variants": records}
        with open(os.path.join(run_dir, "verdict.json"), "w") as f:
            json.dump(res, f, indent=1)
    progress("%s: %s (%.0f s)" % (entry["id"], verdict, res["seconds"]))
    return res


def new_run_dir():
    stamp = datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_id, n = stamp, 1
    while os.path.exists(os.path.join(RUNS, run_id)):
        n += 1
        run_id = "%s-%d" % (stamp, n)
    path = os.path.join(RUNS, run_id)
    os.makedirs(path)
    return run_id, path


def select(entries, args):
    by_id = {e["id"]: e for e in entries}
    if args.all or args.ci:
        if args.ids:
            raise UsageError("give entry ids or --all/--ci, not both")
        chosen = [e for e in entries if e["status"]
                  == "active" and (args.all or e["ci"])]
        if not chosen:
            raise UsageError("no active entry to run")
        return chosen
    if not args.ids:
        raise UsageError(
            "which entries? give ids, --all or --ci (see scripts/zoo list)")
    chosen = []
    for i in args.ids:
        if i not in by_id:
            raise UsageError("no entry %r (see scripts/zoo list)" % i)
        if by_id[i]["status"] != "active":
            raise UsageError(
                "entry %r is rejected: %s" %
                (i, by_id[i]["reason"]))
        if by_id[i] not in chosen:
            chosen.append(by_id[i])
    return chosen


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def cmd_run(args):
    entries = load_checked()
    chosen = select(entries, args)
    if os.geteuid() != 0:
        print(
            "zoo: run needs root (network namespaces and TAPs)",
            file=sys.stderr)
        return EX_NOPERM
    signal.signal(signal.SIGTERM, _sigterm)
    run_id, run_root = new_run_dir()
    progress = progress_to_stderr
    progress(
        "run %s: %d entr%s, evidence in %s" %
        (run_id,
         len(chosen),
         "y" if len(chosen) == 1 else "ies",
         run_root))
    t0 = time.monotonic()
    results = []
    try:
        for n, e in enumerate(chosen, 1):
            progress("[%d/%d] %s: %s" % (n, len(chosen), e["id"], e["title"]))
            results.append(run_entry(e, run_id, run_root, progress))
    finally:
        if results:
            write_last(results)
    ok = all(r["verdict"] == REPRODUCED for r in results)
    summary = {
        "run": run_id,
        "dir": run_root,
        "seconds": round(
            time.monotonic() - t0,
            1),
        "ok": ok,
        "entries": results}
    with open(os.path.join(run_root, "run.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for r in results:
            print("%-32s %-15s %6.0f s  %s" %
                  (r["id"], r["verdict"], r["seconds"], r["dir"]))
            for v in r["variants"]:
                print(
                    "    %-20s %s" %
                    (v["label"],
                     "error: " +
                     v["error"] if v["error"] else (
                        "bad" if v["bad"] else "clean") +
                        ": " +
                        v["summary"]))
        print(
            "%d of %d reproduced in %.0f s" %
            (sum(
                r["verdict"] == REPRODUCED for r in results),
                len(results),
                summary["seconds"]))
    return EX_OK if ok else EX_FAIL


def parser():
    p = argparse.ArgumentParser(
        prog="scripts/zoo",
        description=(
            "The lwIP bug zoo: each known bug shown on a version that "
            "has it and clean on one that fixed it."))
    sub = p.add_subparsers(dest="command")
    ls = sub.add_parser(
        "list",
        help="every entry with its versions and last verdict")
    ls.add_argument("--json", action="store_true")
    run = sub.add_parser(
        "run", help="build and run entries, give differential verdicts")
    run.add_argument("ids", nargs="*", metavar="ID")
    run.add_argument("--all", action="store_true", help="every active entry")
    run.add_argument(
        "--ci",
        action="store_true",
        help="the active entries marked ci = true")
    run.add_argument("--json", action="store_true")
    sub.add_parser(
        "table",
        help="the README's \"What lwipd catches\" table (Markdown)")
    return p


def main(argv=None):
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return EX_OK if e.code == 0 else EX_USAGE
    if not args.command:
        p.print_usage(sys.stderr)
        return EX_USAGE
    try:
        return {"list": cmd_list, "run": cmd_run,
                "table": cmd_table}[args.command](args)
    except UsageError as e:
        print("zoo: %s" % e, file=sys.stderr)
        return EX_USAGE
    except catalogue.CatalogueError as e:
        print("zoo: %s" % e, file=sys.stderr)
        return EX_DATAERR
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
