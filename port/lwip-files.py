#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""List lwIP source files for meson, read from lwIP's own src/Filelists.mk.

Filelists.mk is the one build list present in every lwIP 2.x release (2.0.x has
no Filelists.cmake), so one reader covers 2.0.3, 2.1.x, 2.2.x and master.

  lwip-files.py --version LWIP_SRC          prints MAJOR.MINOR.REVISION
  lwip-files.py --check LWIP_SRC            exit 0 if LWIP_SRC looks like an lwIP tree
  lwip-files.py --app LWIP_SRC NAME         prints the sources of one of lwIP's apps
                                            (httpd, mdns, mqtt, sntp, tftp); exit 2
                                            with a message if this tree has none
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


# lwIP's apps by the names -Dlwip_apps takes: the Filelists.mk groups that
# hold them (the HTTP server moved from HTTPDFILES to HTTPFILES in 2.1) and,
# where a group holds more than the app, the files that make it up (2.1's
# HTTPFILES also has the HTTP client and the altcp proxy).
APPS = {
    "httpd": (("HTTPFILES", "HTTPDFILES"), ("fs.c", "httpd.c")),
    "mdns": (("MDNSFILES",), None),
    "mqtt": (("MQTTFILES",), None),
    "sntp": (("SNTPFILES",), None),
    "tftp": (("TFTPFILES",), None),
}


def app_files(top, name):
    """The sources of app NAME in the tree at TOP; exits 2 saying why if none."""
    if name not in APPS:
        die("unknown app %s (known: %s)" % (name, ", ".join(sorted(APPS))))
    groups, only = APPS[name]
    vars_ = parse_filelists(top)
    version = read_version(top)
    for group in groups:
        files = [f for f in vars_.get(group, "").split() if f.endswith(".c")]
        if only:
            files = [f for f in files if os.path.basename(f) in only]
        if not files:
            continue
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            sys.stderr.write("lwIP %s lists %s for %s but lacks it\n" % (version, missing[0], name))
            sys.exit(2)
        return files
    sys.stderr.write("lwIP %s has no %s app (no %s in src/Filelists.mk)\n"
                     % (version, name, " or ".join(groups)))
    sys.exit(2)


def main(argv):
    if len(argv) >= 2 and argv[0] == "--version":
        print(read_version(argv[1]))
        return 0
    if len(argv) >= 2 and argv[0] == "--check":
        ok = os.path.isfile(os.path.join(argv[1], "src", "Filelists.mk")) and os.path.isfile(
            os.path.join(argv[1], "src", "include", "lwip", "init.h"))
        return 0 if ok else 1
    if len(argv) == 3 and argv[0] == "--app":
        print("\n".join(app_files(os.path.abspath(argv[1]), argv[2])))
        return 0
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
