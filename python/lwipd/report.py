# SPDX-License-Identifier: MIT
"""The run report: one self-contained HTML file (inline SVG drawn by
matplotlib, no script, no reference outside the file) with the run's
plots on a shared time axis, a table of the run and its leaks."""
import html
import io
import json
import os
import re
import shlex
import time

import matplotlib

matplotlib.use("svg")
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, small
matplotlib.rcParams["font.family"] = "DejaVu Sans"
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import capture, runfiles  # noqa: E402

# One colour per thing, the same in every plot.
COLOURS = {capture.RX: "#1f77b4", capture.TX: "#e6550d"}
DIR_NAMES = {capture.RX: "host → lwIP", capture.TX: "lwIP → host"}
LINK_DOWN = "#d62728"
LINK_UP = "#2ca02c"
CRASH = "#000000"
RULE_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
SERIES_COLOURS = ["#1f77b4", "#e6550d", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                  "#17becf", "#bcbd22", "#7f7f7f", "#d62728"]
NICE_BINS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300,
             600, 1800, 3600)


class Timeline:
    """The run's clock: CLOCK_REALTIME nanoseconds (capture, events and
    stats log share it) to seconds since the first thing that happened."""

    def __init__(self, stamps_ns):
        stamps = [s for s in stamps_ns if s]
        self.t0 = min(stamps) if stamps else 0
        self.end = (max(stamps) - self.t0) / 1e9 if stamps else 1.0
        self.end = max(self.end, 1e-3)

    def s(self, ts_ns):
        return (ts_ns - self.t0) / 1e9

    def bin_width(self):
        for w in NICE_BINS:
            if self.end / w <= 300:
                return w
        return NICE_BINS[-1]


def link_intervals(events, tl):
    """The intervals (start s, end s) the link was down, from "link" and
    "link-flap" events; a link still down at the end stays down to it."""
    out, down_at = [], None
    for e in events:
        if e.get("type") not in ("link", "link-flap") or "state" not in e:
            continue
        t = tl.s(e["ts_ns"])
        if e["state"] == "down" and down_at is None:
            down_at = t
        elif e["state"] == "up" and down_at is not None:
            out.append((down_at, t))
            down_at = None
    if down_at is not None:
        out.append((down_at, tl.end))
    return out


def fault_rules(run):
    """{rule id: its text} from the stats (whole rules) and the events'
    "fault-rule" adds (direction and action)."""
    rules = {}
    for e in run.events:
        if e.get("type") == "fault-rule" and e.get("op") == "add":
            rules[e["id"]] = "%s %s" % (e.get("dir", "?"), e.get("action", "?"))
    stats = [s for _, s in run.stats_log] + [s for _, s in run.snapshots] + [
        r.get("stats", {}) for _, r in run.crashes]
    for s in stats:
        for r in s.get("fault", {}).get("rules", []):
            rules[r["id"]] = r.get("rule", rules.get(r["id"], ""))
    return rules


def _rates(tl, records, get):
    """(times, per-second rates) of the counter GET(stats) between
    consecutive stats log records; a counter that went backwards (a
    restart) counts from zero."""
    ts, rates = [], []
    prev = None
    for ts_ns, st in records:
        try:
            v = get(st)
        except (KeyError, TypeError):
            continue
        if prev is not None and ts_ns > prev[0]:
            d = v - prev[1] if v >= prev[1] else v
            ts.append(tl.s(ts_ns))
            rates.append(d * 1e9 / (ts_ns - prev[0]))
        prev = (ts_ns, v)
    return ts, rates


class Figure:
    """The stacked plots, sharing the time axis; each panel one call."""

    def __init__(self, tl, panels):
        self.tl = tl
        heights = [h for _, h in panels]
        self.fig, axes = plt.subplots(len(panels), 1, sharex=True,
                                      figsize=(11, sum(heights) + 0.9),
                                      gridspec_kw={"height_ratios": heights})
        self.axes = dict(zip([n for n, _ in panels], np.atleast_1d(axes)))

    def ax(self, name, title, ylabel):
        a = self.axes[name]
        a.set_title(title, fontsize=11, loc="left")
        a.set_ylabel(ylabel, fontsize=9)
        a.set_gid("plot-" + name)
        a.grid(True, color="#dddddd", linewidth=0.6)
        a.set_axisbelow(True)
        a.tick_params(labelsize=8)
        return a

    def shade(self, downs, crash_s):
        """Link-down bands and the crash line across every panel."""
        for name, a in self.axes.items():
            for i, (t1, t2) in enumerate(downs):
                a.axvspan(t1, t2, color=LINK_DOWN, alpha=0.10, linewidth=0).set_gid(
                    "link-down-%s-%d" % (name, i))
            if crash_s is not None:
                a.axvline(crash_s, color=CRASH, linewidth=1.2, linestyle="--").set_gid(
                    "crash-%s" % name)
        if crash_s is not None:
            first = list(self.axes.values())[0]
            first.annotate("crash", (crash_s, 1.0), xycoords=("data", "axes fraction"),
                           xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                           fontsize=9, fontweight="bold", color=CRASH)

    def svg(self):
        last = list(self.axes.values())[-1]
        last.set_xlabel("seconds since the run's first record", fontsize=9)
        last.set_xlim(0, self.tl.end)
        self.fig.align_ylabels(list(self.axes.values()))
        self.fig.tight_layout(h_pad=1.2)
        buf = io.StringIO()
        self.fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(self.fig)
        text = buf.getvalue()
        text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
        text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
        text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
        return text


def _legend(a):
    if a.get_legend_handles_labels()[0]:
        a.legend(fontsize=8, loc="best", framealpha=0.85)


def plot_throughput(f, frames, tl, iperf3):
    a = f.ax("throughput", "Throughput per direction (capture)", "Mbit/s")
    w = tl.bin_width()
    edges = np.arange(0, tl.end + w, w)
    for d in (capture.RX, capture.TX):
        sel = [fr for fr in frames if fr.direction == d]
        if not sel:
            continue
        t = np.array([tl.s(fr.ts_ns) for fr in sel])
        b = np.array([fr.orig_len for fr in sel], dtype=float)
        hist, _ = np.histogram(t, bins=edges, weights=b)
        a.plot(edges[:-1] + w / 2, hist * 8 / w / 1e6, color=COLOURS[d], linewidth=1.3,
               label="%s (%d frames)" % (DIR_NAMES[d], len(sel)))[0].set_gid(
                   "series-throughput-" + d)
    for i, (label, d, xs, ys) in enumerate(iperf3):
        a.step(xs, ys, where="post", color=COLOURS[d], linestyle="--", linewidth=1.2,
               label=label)[0].set_gid("series-iperf3-%d" % i)
    a.set_ylim(bottom=0)
    _legend(a)


def plot_link_faults(f, tl, downs, rules, events, records):
    a = f.ax("link", "Link state and fault actions", "")
    a.broken_barh([(0, tl.end)], (-0.4, 0.8), color=LINK_UP, alpha=0.5).set_gid("link-up-band")
    if downs:
        a.broken_barh([(t1, max(t2 - t1, tl.end / 1000)) for t1, t2 in downs], (-0.4, 0.8),
                      color=LINK_DOWN).set_gid("link-down-band")
    labels = ["link (green up, red down)"]
    acted = {}
    for e in events:
        if e.get("type") == "fault" and "rule" in e:
            acted.setdefault(e["rule"], []).append(tl.s(e["ts_ns"]))
    # Rules with no "fault" event (no events log, or it lost them): a mark
    # at each stats record whose "acted" counter grew.
    from_events, last = set(acted), {}
    for ts_ns, st in records:
        for r in st.get("fault", {}).get("rules", []):
            rid, n = r.get("id"), r.get("acted", 0)
            if rid in from_events:
                continue
            if n > last.get(rid, 0):
                acted.setdefault(rid, []).append(tl.s(ts_ns))
            last[rid] = n
    ids = sorted(set(rules) | set(acted))
    for row, rid in enumerate(ids, start=1):
        ts = acted.get(rid, [])
        colour = RULE_COLOURS[(row - 1) % len(RULE_COLOURS)]
        if ts:
            a.plot(ts, [row] * len(ts), linestyle="none", marker="|", markersize=11,
                   color=colour)[0].set_gid("fault-marks-rule-%d" % rid)
        text = rules.get(rid, "")
        n = len(ts) if rid in from_events else last.get(rid, 0)
        labels.append("rule %d: %s (%d)" % (rid, text[:34], n))
    a.set_yticks(range(len(labels)))
    a.set_yticklabels(labels, fontsize=8)
    a.set_ylim(len(labels) - 0.5, -0.5)
    a.grid(False, axis="y")


def plot_tcp(f, tl, name, what, segs):
    a = f.ax(name, "TCP %s (capture)" % what, "per second")
    w = tl.bin_width()
    edges = np.arange(0, tl.end + w, w)
    for d in (capture.RX, capture.TX):
        sel = [s["ts_ns"] for s in segs if s["from_lwip"] == (d == capture.TX)]
        hist, _ = np.histogram([tl.s(t) for t in sel], bins=edges)
        a.plot(edges[:-1] + w / 2, hist / w, color=COLOURS[d], linewidth=1.3,
               label="%s (%d)" % (DIR_NAMES[d], len(sel)))[0].set_gid(
                   "series-%s-%s" % (name, d))
    a.set_ylim(0, max(a.get_ylim()[1], 1))
    _legend(a)


def plot_irq(f, tl, records):
    a = f.ax("irq", "TX-complete IRQs and TX frees by context (stats log)", "per second")
    series = (("TX-complete IRQs", lambda s: s["irq"]["txc"]["raised"]),
              ("frees in the ISR", lambda s: s["driver"]["free_isr"]),
              ("frees by callback", lambda s: s["driver"]["free_callback"]),
              ("frees in the task", lambda s: s["driver"]["free_task"]))
    for i, (label, get) in enumerate(series):
        ts, rates = _rates(tl, records, get)
        if ts and (i < 2 or any(rates)):
            a.plot(ts, rates, color=SERIES_COLOURS[i + 2], linewidth=1.3, marker=".",
                   markersize=3, label=label)[0].set_gid("series-irq-%d" % i)
    a.set_ylim(bottom=0)
    _legend(a)


def moved_pools(records):
    """The memp pools whose "used" changed over the stats log."""
    seen = {}
    for _, st in records:
        for name, p in st.get("lwip", {}).get("memp", {}).items():
            seen.setdefault(name, set()).add(p.get("used"))
    return [n for n, v in seen.items() if len(v) > 1]


def plot_pools(f, tl, records, pools):
    a = f.ax("pools", "memp pool usage (pools that moved)", "% of the pool")
    for i, name in enumerate(pools):
        ts, ys, avail = [], [], 0
        for ts_ns, st in records:
            p = st.get("lwip", {}).get("memp", {}).get(name)
            if p and p.get("avail"):
                ts.append(tl.s(ts_ns))
                ys.append(100.0 * p["used"] / p["avail"])
                avail = p["avail"]
        a.plot(ts, ys, color=SERIES_COLOURS[i % len(SERIES_COLOURS)], linewidth=1.3,
               drawstyle="steps-post", label="%s (of %d)" % (name, avail))[0].set_gid(
                   "series-pool-" + name)
    a.set_ylim(bottom=0)
    _legend(a)


def plot_heap(f, tl, records):
    a = f.ax("heap", "lwIP heap in use (stats log)", "KiB")
    ts = [tl.s(t) for t, st in records if "mem" in st.get("lwip", {})]
    used = [st["lwip"]["mem"]["used"] / 1024 for _, st in records if "mem" in st.get("lwip", {})]
    a.plot(ts, used, color=SERIES_COLOURS[0], drawstyle="steps-post", linewidth=1.3,
           label="used")[0].set_gid("series-heap")
    a.set_ylim(bottom=0)
    _legend(a)


def iperf3_series(run, segs, tl):
    """iperf3 -J intervals as (label, direction, times, Mbit/s) step data.
    The intervals' clock starts with the test: aligned on the first data
    segment of the connection in the capture, else on start.timestamp."""
    out = []
    for path, j in run.iperf3:
        ivs = [i["sum"] for i in j.get("intervals", []) if "sum" in i]
        if not ivs:
            continue
        start = j.get("start", {})
        reverse = start.get("test_start", {}).get("reverse", 0)
        d = capture.TX if reverse else capture.RX
        conns = start.get("connected")  # iperf3: a list; lwipctl iperf3 --json: a count
        ports = {c.get("local_port") for c in conns if isinstance(c, dict)} \
            if isinstance(conns, list) else set()
        data = [s["ts_ns"] for s in segs if s["len"] > 0 and (
            s["sport"] in ports or s["dport"] in ports) and s["from_lwip"] == bool(reverse)]
        t0 = tl.s(min(data)) if data else tl.s(start.get("timestamp", {}).get("timesecs", 0) * 1e9)
        xs = [t0 + i["start"] for i in ivs] + [t0 + ivs[-1]["end"]]
        ys = [i["bits_per_second"] / 1e6 for i in ivs]
        out.append(("iperf3 %s (%s)" % (DIR_NAMES[d], os.path.basename(path)), d, xs, ys + ys[-1:]))
    return out


def _stamps(run, frames):
    stamps = [e.get("ts_ns") for e in run.events] + [t for t, _ in run.stats_log]
    if frames:
        stamps += [min(f.ts_ns for f in frames), max(f.ts_ns for f in frames)]
    stamps += [r.get("ts_ns") for _, r in run.crashes]
    return stamps


def draw(run, frames):
    """The SVG of the run's plots ("" when there is nothing on a clock),
    and the TCP counts for the table."""
    tl = Timeline(_stamps(run, frames))
    segs = capture.tcp_segments(frames) if frames else []
    retrans, dupacks = capture.tcp_anomalies(segs)
    rules = fault_rules(run)
    downs = link_intervals(run.events, tl)
    records = run.stats_log
    pools = moved_pools(records)
    panels = []
    if frames:
        panels.append(("throughput", 2.4))
    panels.append(("link", 0.5 + 0.3 * (1 + len(rules))))
    if segs:
        panels += [("retrans", 1.6), ("dupacks", 1.6)]
    if records:
        panels += [("irq", 2.0)] + ([("pools", 2.2)] if pools else []) + [("heap", 1.6)]
    f = Figure(tl, panels)
    if frames:
        plot_throughput(f, frames, tl, iperf3_series(run, segs, tl))
    plot_link_faults(f, tl, downs, rules, run.events, records)
    if segs:
        plot_tcp(f, tl, "retrans", "retransmissions", retrans)
        plot_tcp(f, tl, "dupacks", "duplicate ACKs", dupacks)
    if records:
        plot_irq(f, tl, records)
        if pools:
            plot_pools(f, tl, records, pools)
        plot_heap(f, tl, records)
    crash_s = tl.s(run.crashes[-1][1]["ts_ns"]) if run.crashes and run.crashes[-1][1].get(
        "ts_ns") else None
    f.shade(downs, crash_s)
    return f.svg(), {"retrans": retrans, "dupacks": dupacks, "segments": len(segs),
                     "downs": downs, "rules": rules, "pools": pools, "timeline": tl}


# ---- the HTML page ---------------------------------------------------------------

CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 1.2em 2em;
       color: #222; max-width: 1150px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.4em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td:first-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b00000; font-weight: 600; }
.good { color: #1a7f1a; font-weight: 600; }
.note { color: #666; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
svg { max-width: 100%; height: auto; }
"""


def _e(x):
    return html.escape(str(x), quote=True)


def _table(rows, head=None, cls=None):
    out = ['<table%s>' % (' class="%s"' % cls if cls else "")]
    if head:
        out.append("<tr>%s</tr>" % "".join("<th>%s</th>" % _e(h) for h in head))
    for r in rows:
        out.append("<tr>%s</tr>" % "".join(
            '<td class="num">%s</td>' % _e(c) if isinstance(c, (int, float)) else
            "<td>%s</td>" % c for c in r))
    out.append("</table>")
    return "\n".join(out)


def _first(*vals):
    for v in vals:
        if v not in (None, "", {}):
            return v
    return None


def run_table(run, info, command, verdict, how_dir):
    """The rows of the run's table (values already HTML)."""
    ready = run.ready()
    crash = run.crashes[-1][1] if run.crashes else {}
    build = crash.get("build") or run.build
    seed = _first(*[e.get("seed") for e in run.events if e.get("type") == "seed"],
                  crash.get("seed"))
    if seed is None:
        m = re.search(r"\[daemon\] seed (\d+)", run.log_text())
        seed = m.group(1) if m else None
    tl = info["timeline"]
    cl = crash.get("command_line") if isinstance(crash.get("command_line"), dict) else {}
    if not command and cl.get("argv"):
        command = " ".join(shlex.quote(a) for a in cl["argv"])
    rows = [("lwipd", _e(_first(build.get("lwipd"), "unknown (no version.json, no crash report)"))),
            ("lwIP", _e(_first(build.get("lwip"), ready.get("lwip"), "unknown"))),
            ("command line", "<code>%s</code>" % _e(command) if command else
             '<span class="note">not given (--command)</span>'),
            ("seed", _e(seed if seed is not None else "unknown")),
            ("lwIP's address / MAC", _e("%s / %s" % (ready.get("ip", "?"), ready.get("mac", "?")))),
            ("duration", _e("%.3f s from %s" % (tl.end, time.strftime(
                "%Y-%m-%d %H:%M:%S UTC", time.gmtime(tl.t0 / 1e9))) if tl.t0 else "unknown")),
            ("captures", _e(", ".join(os.path.basename(p) for p in run.capture_files) or "none")),
            ("frame directions", _e(how_dir or "unknown")),
            ("TCP", _e("%d segments, %d retransmissions, %d duplicate ACKs" % (
                info["segments"], len(info["retrans"]), len(info["dupacks"])))),
            ("link down", _e(", ".join("%.3f-%.3f s" % d for d in info["downs"]) or "never")),
            ("fault rules", "<br>".join("%d: <code>%s</code>" % (k, _e(v))
                                        for k, v in sorted(info["rules"].items())) or "none"),
            ("events / stats records", _e("%d / %d" % (len(run.events), len(run.stats_log))))]
    if cl.get("replay"):
        rows.insert(3, ("replay (crash report)", "<code>%s</code>" % _e(cl["replay"])))
    if crash.get("config"):
        rows.append(("configuration (crash report)", "<code>%s</code>" % _e(
            " ".join("%s=%s" % kv for kv in crash["config"].items()))))
    if verdict:
        cls = "good" if verdict.lower() in ("passed", "pass", "ok") else "bad"
        rows.insert(0, ("verdict", '<span class="%s">%s</span>' % (cls, _e(verdict))))
    if run.crashes:
        rows.insert(0, ("outcome", '<span class="bad">crashed: %s</span>' % _e(
            crash.get("kind", "?"))))
    return rows


def crash_section(run, tl):
    out = []
    for path, rep in run.crashes:
        rows = [("file", _e(os.path.basename(path))), ("kind", _e(rep.get("kind"))),
                ("message", _e(rep.get("message"))),
                ("at", _e("%.3f s" % tl.s(rep["ts_ns"]) if rep.get("ts_ns") else "?")),
                ("pid", _e(rep.get("pid")))]
        if rep.get("explanation"):
            rows.append(("explanation", _e(rep["explanation"])))
        for key in ("isr_stack", "stack", "interrupted_stack", "faulting_stack"):
            st = rep.get(key)
            if isinstance(st, dict) and st.get("frames"):
                rows.append((key.replace("_", " "), "<pre>%s</pre>" % _e("\n".join(
                    "%s+%s%s" % (fr.get("fn") or fr.get("ip", "?"), fr.get("off", 0),
                                 "  %s:%s" % (fr["file"], fr.get("line")) if fr.get("file")
                                 else "") for fr in st["frames"][:16]))))
        out.append(_table(rows))
    return "\n".join(out)


def leaks_section(run):
    if not run.leaks:
        return '<p class="note">No leak report (leaks-*.json) in the inputs.</p>'
    out = []
    for path, rep in run.leaks:
        clean = rep.get("clean")
        out.append("<h3>%s: %s</h3>" % (_e(os.path.basename(path)),
                                        '<span class="good">clean</span>' if clean else
                                        '<span class="bad">leaked</span>'))
        if rep.get("leaked"):
            out.append("<pre>%s</pre>" % _e(json.dumps(rep["leaked"], indent=1)))
        if rep.get("error"):
            out.append('<p class="bad">%s</p>' % _e(rep["error"]))
        rows = []
        for name, p in sorted(rep.get("pools", {}).items()):
            if p.get("delta") or p.get("leaked"):
                rows.append((_e(name), p.get("baseline", 0), p.get("now", 0), p.get("delta", 0),
                             p.get("leaked", 0), _e(p.get("held_by", ""))))
        heap = rep.get("heap")
        if heap:
            rows.append(("heap (bytes)", heap.get("baseline", 0), heap.get("now", 0),
                         heap.get("delta", 0), "", ""))
        if rows:
            out.append(_table(rows, ("pool", "baseline", "now", "delta", "leaked", "held by")))
    return "\n".join(out)


def render(inputs, title=None, command=None, verdict=None, lwip_mac=None):
    """The report of the run in INPUTS (directories, files) as HTML text."""
    run = runfiles.load(inputs)
    frames, how_dir = runfiles.frames(run, lwip_mac)
    names = [os.path.basename(os.path.abspath(p)) for p in inputs]
    title = title or "lwipd run: " + ", ".join(names)
    svg, info = draw(run, frames)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>%s</title>" % _e(title), "<style>%s</style></head><body>" % CSS,
             "<h1>%s</h1>" % _e(title),
             '<p class="note">Time axis: seconds since the run\'s first record (capture, '
             'events, stats log). Red bands: link down; dashed black line: crash report.</p>',
             '<div id="plots">%s</div>' % svg,
             '<h2 id="run">The run</h2>',
             _table(run_table(run, info, command, verdict, how_dir))]
    if run.crashes:
        parts += ['<h2 id="crash">Crash report</h2>', crash_section(run, info["timeline"])]
    parts += ['<h2 id="leaks">Leaks</h2>', leaks_section(run)]
    if run.snapshots:
        path, st = run.snapshots[-1]
        rows = [(_e(n), p.get("used", 0), p.get("max", 0), p.get("avail", 0), p.get("err", 0))
                for n, p in sorted(st.get("lwip", {}).get("memp", {}).items()) if p.get("max")]
        mem = st.get("lwip", {}).get("mem", {})
        rows.append(("heap (bytes)", mem.get("used", 0), mem.get("max", 0),
                     mem.get("avail", 0), mem.get("err", 0)))
        parts += ['<h2 id="snapshot">Last stats snapshot (%s)</h2>' % _e(os.path.basename(path)),
                  _table(rows, ("pool", "used", "max", "avail", "err"))]
    if run.ignored:
        parts += ['<p class="note">Not read: %s</p>' % _e("; ".join(
            "%s (%s)" % (os.path.basename(p), why) for p, why in run.ignored))]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
