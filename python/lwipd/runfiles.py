# SPDX-License-Identifier: MIT
"""The files of an lwipd run, found and read: captures (rotated sets),
the events log, the stats log and stats snapshots, leak reports, crash
reports, lwipd's log and an iperf3 -J result. Files are told apart by
their content where their names do not say."""
import glob
import json
import os
import re
import struct

from . import capture

CAPTURE_NAME = re.compile(r".*\.(pcap|pcapng)(\.\d+)?$")
SKIP_NAMES = re.compile(r".*\.(html|png|svg|txt|supp)$")


class Run:
    """What the inputs of one run hold. Every list is in file order."""

    def __init__(self):
        self.captures = []    # newest file of each rotated set
        self.capture_files = []  # every file read, oldest first
        self.events = []      # event objects (events log, else the crash report's)
        self.stats_log = []   # (ts_ns, stats object)
        self.snapshots = []   # (path, stats object)
        self.leaks = []       # (path, leaks response)
        self.crashes = []     # (path, crash report)
        self.iperf3 = []      # (path, iperf3 -J object)
        self.logs = []        # (path, text)
        self.build = {}       # `version`'s "build" (lwipctl version --json)
        self.ignored = []     # (path, why)

    def log_text(self):
        return "\n".join(text for _, text in self.logs)

    def ready(self):
        """The fields of lwipd's READY line in its log ({} without one)."""
        m = re.search(r"\bREADY ((?:\S+=\S+ ?)+)", self.log_text())
        return dict(w.split("=", 1) for w in m.group(1).split()) if m else {}


def _json_lines(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a line cut by a crash ends the log
    return out


def _classify_json(run, path):
    try:
        with open(path) as f:
            obj = json.load(f)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        if "intervals" in obj and "start" in obj:
            run.iperf3.append((path, obj))
        elif "kind" in obj and ("isr_stack" in obj or "violation" in obj or "message" in obj):
            run.crashes.append((path, obj))
        elif "clean" in obj and ("leaked" in obj or "pools" in obj):
            run.leaks.append((path, obj))
        elif "lwip" in obj and "driver" in obj:
            run.snapshots.append((path, obj))
        elif isinstance(obj.get("build"), dict) and "lwipd" in obj["build"]:
            run.build = obj["build"]
        elif "stats" in obj and "ts_ns" in obj:
            run.stats_log.append((obj["ts_ns"], obj["stats"]))
        elif "type" in obj and "ts_ns" in obj:
            run.events.append(obj)
        else:
            run.ignored.append((path, "a JSON object of no known kind"))
        return
    lines = _json_lines(path)
    if lines and all(isinstance(o, dict) for o in lines):
        if "stats" in lines[0]:
            run.stats_log += [(o["ts_ns"], o["stats"]) for o in lines
                              if "ts_ns" in o and "stats" in o]
            return
        if "type" in lines[0]:
            run.events += [o for o in lines if "type" in o]
            return
    run.ignored.append((path, "not a file of an lwipd run"))


def _add_file(run, path):
    name = os.path.basename(path)
    if CAPTURE_NAME.match(name):
        base = re.sub(r"\.\d+$", "", path)
        if base not in run.captures:
            run.captures.append(base)
        return
    if SKIP_NAMES.match(name):
        return
    with open(path, "rb") as f:
        head = f.read(4)
    if head in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a",
                b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        run.captures.append(path)
    elif head[:1] in (b"{", b"["):
        _classify_json(run, path)
    elif name.endswith(".log"):
        with open(path, errors="replace") as f:
            run.logs.append((path, f.read()))
    else:
        run.ignored.append((path, "not a file of an lwipd run"))


def load(inputs):
    """Read INPUTS (run directories and files) into a Run. Captures are
    read later (frames()); everything else now."""
    run = Run()
    for p in inputs:
        if os.path.isdir(p):
            for f in sorted(glob.glob(os.path.join(glob.escape(p), "*"))):
                if os.path.isfile(f):
                    _add_file(run, f)
        elif os.path.isfile(p):
            _add_file(run, p)
        else:
            raise FileNotFoundError(p)
    if not run.events:
        for _, rep in run.crashes:
            run.events += [e for e in rep.get("events", []) if isinstance(e, dict)]
    run.events.sort(key=lambda e: (e.get("ts_ns", 0), e.get("seq", 0)))
    run.stats_log.sort(key=lambda r: r[0])
    return run


def frames(run, lwip_mac=None):
    """Every frame of the run's captures (each rotated set oldest file
    first; a file that is not a capture is noted in run.ignored), with a
    direction: the file's own (pcapng), else from LWIP_MAC
    or the MAC in lwipd's READY line. Returns (frames, how the direction
    was found or None)."""
    out = []
    for base in run.captures:
        files = capture.rotated_files(base) or [base]
        run.capture_files += files
        for f in files:
            try:
                out += capture.read_frames(f)
            except (capture.CaptureError, struct.error) as e:
                # one damaged file must not cost the report of the rest
                run.ignored.append((f, str(e).split(": ", 1)[-1]))
    if all(f.direction for f in out):
        return out, "pcapng direction flags" if out else None
    mac, how = lwip_mac, "lwIP's MAC %s (given)"
    if not mac and run.ready().get("mac"):
        mac, how = run.ready()["mac"], "lwIP's MAC %s (its READY line)"
    if not mac:
        # lwipd's default MAC: 02:4c:77:.. (stable, from the TAP name)
        srcs = [f.data[6:12] for f in out if f.data[6:9] == b"\x02\x4c\x77"]
        if srcs:
            mac = ":".join("%02x" % b for b in max(set(srcs), key=srcs.count))
            how = "lwIP's default MAC %s (guessed: no READY line)"
    if not mac:
        return out, None
    return capture.assign_directions(out, mac), how % mac
