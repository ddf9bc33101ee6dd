#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""List lwIP source files for meson, read from lwIP's own src/Filelists.mk.

Filelists.mk is the one build list present in every lwIP 2.x release (2.0.x has
no Filelists.cmake), so one reader covers 2.0.3, 2.1.x, 2.2.x and master.

  lwip-files.py --version LWIP_SRC          prints MAJOR.MINOR.REVISION
  lwip-files.py --check LWIP_SRC            exit 0 if LWIP_SRC looks like an lwIP tree
  lwip-files.py LWIP_SRC GROUP [GROUP...]   prints one source path per line
"""
import os
import re
import sys


def die(msg):
    sys.stderr.write("lwip-files: %s\n" % msg)
    sys.exit(1)


def read_version(top):
    path = os.path.join(top, "src", "include", "lwip", "init.h")
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror))
    parts = []
    for key in ("MAJOR", "MINOR", "REVISION"):
        m = re.search(r"#define\s+LWIP_VERSION_%s\s+(\d+)" % key, text)
        if not m:
            die("%s: LWIP_VERSION_%s not found" % (path, key))
        parts.append(m.group(1))
    return ".".join(parts)


def parse_filelists(top):
    """Return {VAR: [paths]} from src/Filelists.mk, with $(VAR) expanded."""
    path = os.path.join(top, "src", "Filelists.mk")
    try:
        raw = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror))
    raw = raw.replace("\\\r\n", " ").replace("\\\n", " ")
    vars_ = {"LWIPDIR": os.path.join(top, "src")}
    assign = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(\+?=|:=)\s*(.*)$")
    for line in raw.splitlines():
        line = line.split("#", 1)[0].strip()
        m = assign.match(line)
        if not m:
            continue
        name, op, value = m.groups()
        expanded = re.sub(r"\$\(([A-Za-z0-9_]+)\)", lambda r: vars_.get(r.group(1), ""), value)
        if op == "+=" and name in vars_:
            vars_[name] = vars_[name] + " " + expanded
        else:
            vars_[name] = expanded
    return vars_


def main(argv):
    if len(argv) >= 2 and argv[0] == "--version":
        print(read_version(argv[1]))
        return 0
    if len(argv) >= 2 and argv[0] == "--check":
        ok = os.path.isfile(os.path.join(argv[1], "src", "Filelists.mk")) and os.path.isfile(
            os.path.join(argv[1], "src", "include", "lwip", "init.h"))
        return 0 if ok else 1
    if len(argv) < 2:
        die("usage: lwip-files.py LWIP_SRC GROUP [GROUP...]")
    top = os.path.abspath(argv[0])
    vars_ = parse_filelists(top)
    seen = set()
    for group in argv[1:]:
        if group not in vars_:
            die("group %s not in %s/src/Filelists.mk" % (group, top))
        for f in vars_[group].split():
            if f.endswith(".c") and f not in seen:
                if not os.path.isfile(f):
                    die("listed file missing: %s" % f)
                seen.add(f)
                print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
