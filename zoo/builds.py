# SPDX-License-Identifier: MIT
"""lwIP trees and cached lwipd builds for the zoo.

A build is keyed on (version, meson options, lwipopts dir) and lives in
build-zoo/<version>-<hash>/; a zoo-build.json stamp beside build.ninja says
what it was configured with, and a build whose stamp differs (another tree
path, say) is configured again from scratch. Unchanged builds cost one
no-op ninja run."""
import hashlib
import json
import os
import shutil
import subprocess

from zoo.catalogue import TOP

ZOO_DIR = os.path.abspath(
    os.environ.get(
        "LWIPD_ZOO_DIR",
        os.path.join(
            TOP,
            "build-zoo")))
FETCH = os.path.join(TOP, "scripts", "fetch-lwip")
EX_CANTCREAT = 73  # fetch-lwip: a tree it did not make is in the way
TARGETS = ("daemon/lwipd", "tools/lwipctl", "tools/lwipd-churn")


class BuildError(Exception):
    pass


def _tail(text, n=3000):
    return text[-n:] if len(text) > n else text


def lwip_tree(version, log):
    """The source tree of lwIP VERSION: scripts/fetch-lwip VERSION unpacks
    it under subprojects/lwip-VERSION from the mirror ../shared/lwip (or
    upstream), checked against its hashes, and reuses a tree it verified
    before. The one tree it will not touch is Debian's 2.1.3 (the default
    build's, repacked by Debian): the zoo uses that one as it is."""
    r = subprocess.run([FETCH, version], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    lines = r.stdout.split()
    tree = lines[-1] if r.returncode == 0 and lines else None
    if tree and os.path.isfile(os.path.join(tree, "src", "Filelists.mk")):
        return tree
    own = os.path.join(TOP, "subprojects", "lwip-" + version)
    debian = os.path.isfile(os.path.join(own, "src", "Filelists.mk"))
    if r.returncode == EX_CANTCREAT and debian:
        log("lwIP %s: using %s as it is" % (version, own))
        return own
    raise BuildError("scripts/fetch-lwip %s failed (%d): %s" % (
        version, r.returncode, _tail(r.stdout + r.stderr)))


def build_key(variant):
    what = {"version": variant["version"], "meson": list(variant["meson"]),
            "lwipopts": variant["lwipopts"]}
    digest = hashlib.sha256(
        json.dumps(
            what,
            sort_keys=True).encode()).hexdigest()[
        :8]
    return "%s-%s" % (variant["version"], digest)


class Build:
    """Paths of one built variant."""

    def __init__(self, path, stamp):
        self.dir = path
        self.stamp = stamp
        self.lwipd = os.path.join(path, "daemon", "lwipd")
        self.lwipctl = os.path.join(path, "tools", "lwipctl")
        self.churn = os.path.join(path, "tools", "lwipd-churn")


def build(variant, log):
    """Configure (once) and build VARIANT; returns a Build. Raises
    BuildError with the tail of meson's or ninja's output."""
    tree = lwip_tree(variant["version"], log)
    key = build_key(variant)
    out = os.path.join(ZOO_DIR, key)
    stamp = {"version": variant["version"], "meson": list(variant["meson"]),
             "lwipopts": variant["lwipopts"], "lwip_src": tree}
    stamp_path = os.path.join(out, "zoo-build.json")
    try:
        with open(stamp_path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = None
    if old != stamp or not os.path.exists(os.path.join(out, "build.ninja")):
        if os.path.exists(out):
            shutil.rmtree(out)
        opts = ["-Dlwip_src=" + tree, "-Dtests=disabled", "-Dman=disabled"]
        if variant["lwipopts"]:
            opts.append(
                "-Dlwipopts_dir=" +
                os.path.join(
                    TOP,
                    variant["lwipopts"]))
        what = list(variant["meson"])
        if variant["lwipopts"]:
            what.append("lwipopts " + variant["lwipopts"])
        log("configuring %s (lwIP %s, %s)" %
            (key, variant["version"], " ".join(what) or "default options"))
        r = subprocess.run(
            ["meson", "setup", out] + opts + list(variant["meson"]),
            cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=600)
        if r.returncode != 0:
            raise BuildError("meson setup %s failed: %s" %
                             (key, _tail(r.stdout)))
        with open(stamp_path, "w") as f:
            json.dump(stamp, f, indent=1)
    log("building %s" % key)
    r = subprocess.run(
        ["ninja", "-C", out] + list(TARGETS),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=1800)
    if r.returncode != 0:
        raise BuildError("ninja -C %s failed: %s" % (out, _tail(r.stdout)))
    return Build(out, stamp)
