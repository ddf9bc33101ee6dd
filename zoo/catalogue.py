# SPDX-License-Identifier: MIT
"""The zoo's catalogue: zoo/entries/<id>.toml, read and checked.

The entry format is described in zoo/README.md. check() returns a list of
problems (empty when the catalogue is well-formed); the runner refuses to
run a malformed catalogue and `scripts/zoo list` prints the problems."""
import importlib
import os
import re
import tomllib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRIES = os.path.join(TOP, "zoo", "entries")
MIRROR = os.path.join(os.path.dirname(TOP), "shared", "lwip")

EVIDENCE_KINDS = ("lwip-assert", "crash-report", "capture", "stats", "leaks")
STATUSES = ("active", "rejected")
ROLES = ("affected", "fixed")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9.]+)*$")
SCENARIO_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# field: (type, required for active entries, required for rejected ones)
FIELDS = {
    "id": (str, True, True),
    "title": (str, True, True),
    "row": ((int, str), False, False),
    "upstream": (str, False, False),
    "scenario": (str, True, False),
    "evidence": (str, True, False),
    "status": (str, True, True),
    "reason": (str, False, True),
    "expect_affected": (str, True, False),
    "expect_fixed": (str, True, False),
    "ci": (bool, True, False),
    "variant": (list, True, False),
    "oracle": (str, False, False),
}
ORACLES = ("linux",)
VARIANT_FIELDS = {
    "role": (str, True),
    "version": (str, True),
    "meson": (list, False),
    "lwipopts": (str, False),
    "args": (list, False),
    "label": (str, False),
}


class CatalogueError(Exception):
    pass


def mirror_versions(mirror=MIRROR):
    """{version: sha256} of the trees in the mirror's SHA256SUMS."""
    out = {}
    try:
        with open(os.path.join(mirror, "SHA256SUMS")) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2:
                    continue
                m = re.match(r"^\*?lwip-(.+)\.tar\.xz$", parts[1])
                if m:
                    out[m.group(1)] = parts[0]
    except OSError:
        pass
    return out


def _variant(raw):
    v = {"meson": [], "lwipopts": "", "args": []}
    v.update(raw)
    if "label" not in v:
        v["label"] = "%s-%s" % (v["role"], v["version"])
    return v


def load(entries_dir=ENTRIES):
    """[entry dict] sorted by id; variants get their defaults filled in.
    Raises CatalogueError on a file that is not TOML."""
    out = []
    for name in sorted(os.listdir(entries_dir)):
        if not name.endswith(".toml"):
            continue
        path = os.path.join(entries_dir, name)
        try:
            with open(path, "rb") as f:
                e = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise CatalogueError("%s: %s" % (path, err))
        e["_file"] = name
        e.setdefault("reason", "")
        e.setdefault("upstream", "")
        if isinstance(e.get("variant"), list):
            if all(isinstance(v, dict)
                   and "role" in v and "version" in v for v in e["variant"]):
                e["variant"] = [_variant(v) for v in e["variant"]]
        out.append(e)
    return out


def _check_variants(e, versions, where):
    problems = []
    roles = []
    labels = set()
    for i, v in enumerate(e["variant"]):
        vw = "%s variant %d" % (where, i + 1)
        if not isinstance(v, dict):
            problems.append("%s: not a table" % vw)
            continue
        for field, (typ, required) in VARIANT_FIELDS.items():
            if field not in v:
                if required:
                    problems.append("%s: no %s" % (vw, field))
            elif not isinstance(v[field], typ):
                problems.append("%s: %s is not %s" % (vw, field, typ.__name__))
        unknown = set(v) - set(VARIANT_FIELDS)
        if unknown:
            problems.append("%s: unknown fields %s" % (vw, sorted(unknown)))
        if v.get("role") not in ROLES:
            problems.append(
                "%s: role %r is not one of %s" %
                (vw, v.get("role"), ROLES))
        roles.append(v.get("role"))
        if versions and v.get("version") not in versions:
            problems.append(
                "%s: version %r is not in %s/SHA256SUMS" %
                (vw, v.get("version"), MIRROR))
        for field in ("meson", "args"):
            if not all(isinstance(a, str) for a in v.get(field, [])):
                problems.append(
                    "%s: %s must be a list of strings" %
                    (vw, field))
        if v.get("lwipopts") and not os.path.isfile(
                os.path.join(TOP, v["lwipopts"], "lwipopts.h")):
            problems.append("%s: no lwipopts.h in %s" % (vw, v["lwipopts"]))
        if v.get("label") in labels:
            problems.append(
                "%s: label %r used twice (give each variant a label)" %
                (vw, v.get("label")))
        labels.add(v.get("label"))
    if roles.count("affected") < 1:
        problems.append("%s: needs at least one affected variant" % where)
    if roles.count("fixed") < 1:
        problems.append("%s: needs at least one fixed variant" % where)
    return problems


def check_entry(e, versions=None, import_scenarios=True):
    """Problems of one entry (strings)."""
    where = e.get("_file", e.get("id", "?"))
    problems = []
    status = e.get("status")
    if status not in STATUSES:
        return ["%s: status %r is not one of %s" % (where, status, STATUSES)]
    active = status == "active"
    for field, (typ, req_active, req_rejected) in FIELDS.items():
        if field not in e:
            if req_active if active else req_rejected:
                problems.append("%s: no %s" % (where, field))
        elif not isinstance(e[field], typ):
            problems.append("%s: %s has the wrong type" % (where, field))
    unknown = set(e) - set(FIELDS) - {"_file"}
    if unknown:
        problems.append("%s: unknown fields %s" % (where, sorted(unknown)))
    if problems:
        return problems
    if e["_file"] != e["id"] + ".toml":
        problems.append(
            "%s: id %r does not match the file name" %
            (where, e["id"]))
    if not ID_RE.match(e["id"]):
        problems.append(
            "%s: id %r is not lower-case-with-dashes" %
            (where, e["id"]))
    if not active:
        if not e["reason"].strip():
            problems.append("%s: a rejected entry says why in reason" % where)
        if "variant" in e:
            problems += _check_variants(e, versions, where)
        return problems
    if "oracle" in e and e["oracle"] not in ORACLES:
        problems.append("%s: oracle %r is not one of %s" % (
            where, e["oracle"], ORACLES))
    if e["evidence"] not in EVIDENCE_KINDS:
        problems.append(
            "%s: evidence %r is not one of %s" %
            (where, e["evidence"], EVIDENCE_KINDS))
    if not SCENARIO_RE.match(e["scenario"]):
        problems.append(
            "%s: scenario %r is not a module name" %
            (where, e["scenario"]))
    elif import_scenarios:
        try:
            mod = scenario_module(e["scenario"])
            if not callable(getattr(mod, "run", None)):
                problems.append(
                    "%s: zoo/scenarios/%s.py has no run(env)" %
                    (where, e["scenario"]))
        except Exception as err:  # any import failure is a catalogue problem
            problems.append(
                "%s: zoo/scenarios/%s.py does not import: %s: %s" %
                (where, e["scenario"], type(err).__name__, err))
    problems += _check_variants(e, versions, where)
    return problems


def check(entries, versions=None, import_scenarios=True):
    """Problems of the whole catalogue."""
    if versions is None:
        versions = mirror_versions()
    problems = []
    seen = set()
    for e in entries:
        problems += check_entry(e, versions, import_scenarios)
        if e.get("id") in seen:
            problems.append(
                "%s: id %r used twice" %
                (e.get("_file"), e.get("id")))
        seen.add(e.get("id"))
    return problems


def scenario_module(name):
    return importlib.import_module("zoo.scenarios." + name)


def public(e):
    """The entry without the loader's private keys (for JSON)."""
    return {k: v for k, v in e.items() if not k.startswith("_")}
