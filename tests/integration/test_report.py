# SPDX-License-Identifier: MIT
"""lwipd-report on real runs, checked in a real browser: headless Chromium
(Debian chromium) loads the report, its DOM after load is read back
(--dump-dom), a screenshot is taken, and its console must stay silent
(the report has no script: any console message is an error, and a page
with an injected console.error shows that the check catches one)."""
import glob
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time

from lwipd import testing as harness

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1400, 2400)
IPERF3_SECONDS = 3


def records(path):
    """How many records lwipd's --stats-log has written to PATH so far."""
    try:
        with open(path) as f:
            return sum(1 for line in f if line.endswith("\n"))
    except FileNotFoundError:
        return 0


class Dom(html.parser.HTMLParser):
    """The elements of a page that the checks need: ids, the point count of
    every SVG path inside an element with an id, texts."""

    def __init__(self):
        super().__init__()
        self.ids, self.stack, self.points, self.text = set(), [], {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "use" and self.stack:  # a marker: one point
            self.points[self.stack[-1]] = self.points.get(self.stack[-1], 0) + 1
        if tag in ("path", "polyline") and self.stack:
            pts = len(re.findall(r"[-\d.]+[ ,][-\d.]+", a.get("d", a.get("points", ""))))
            owner = self.stack[-1]
            self.points[owner] = self.points.get(owner, 0) + pts
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "g":
            self.stack.append(a.get("id") or (self.stack[-1] if self.stack else None))

    def handle_endtag(self, tag):
        if tag == "g" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def chromium(url, tmp, *args):
    """Load URL in headless Chromium with a fresh profile; returns (stdout,
    console messages). Console lines come on stderr as ":CONSOLE" records
    with --enable-logging=stderr (every level logs at INFO there)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    try:
        r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"] +
                           list(args) + [url], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    return r.stdout, console


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def make_report(workdir, out, *extra):
    r = harness.run([harness.PYTHON, harness.REPORT, workdir, "-o", out] + list(extra),
                    timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return f.read()


def self_contained(text):
    """No reference out of the page: no src/href other than a fragment or
    data:, no url() out, no script at all."""
    refs = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", text)
    assert all(r.startswith(("#", "data:")) for r in refs), sorted(set(refs))[:5]
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", text)
    assert "<script" not in text.lower()
    assert "@import" not in text


def test_console_check_catches_an_error(tmp_path):
    """The browser check can fail: a page that logs a console error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p>"
                    "<script>console.error('injected-error')</script></body></html>")
    _, console = chromium("file://" + str(page), str(tmp_path), "--dump-dom")
    assert any("injected-error" in line for line in console), console


def test_report_of_iperf3_link_pull_and_loss(netns, lwipd_factory, workdir, tmp_path):
    """iperf3 into lwIP for 3 s under a seeded 2 % loss rule, the link
    pulled for a moment, the capture rotated: the report has every plot
    with data, the link band and the rule's marks, and loads in Chromium
    without a console message."""
    events = os.path.join(workdir, "events.jsonl")
    stats = os.path.join(workdir, "stats-log.jsonl")
    d = lwipd_factory("--events", events, "--seed", "7", "--fault", 'rx drop 2% "tcp"',
                      "--pcap-rotate", "16M:8", "--stats-log", stats, "--stats-interval", "100")
    iperf3_out = os.path.join(workdir, "iperf3.json")
    with open(iperf3_out, "w") as out:
        client = netns.popen(["timeout", "30", "iperf3", "-c", d.ip, "-J",
                              "-t", str(IPERF3_SECONDS), "-b", "300M"], stdout=out)
    try:
        harness.wait_for(lambda: d.stats()["driver"]["rx_bytes"] > 16 << 20,
                         15, "iperf3 data flowing")
        assert "link: down" in d.lwipctl("link", "down").stdout
        n = records(stats)
        harness.wait_for(lambda: records(stats) >= n + 3, 10,
                         "three stats records with the link down")
        assert "link: up" in d.lwipctl("link", "up").stdout
    finally:
        client.wait(timeout=60)
    with open(iperf3_out) as f:
        assert "error" not in json.load(f)
    with open(os.path.join(workdir, "version.json"), "w") as f:
        json.dump(d.request({"cmd": "version"}), f)
    leaks = d.request({"cmd": "leaks"})
    with open(os.path.join(workdir, "leaks-%d.json" % d.pid), "w") as f:
        json.dump(leaks, f)
    d.stop()
    assert len(glob.glob(os.path.join(workdir, "capture.pcap*"))) >= 2  # rotated

    out = os.path.join(workdir, "report.html")
    t0 = time.monotonic()
    text = make_report(workdir, out, "--title", "iperf3 into lwIP, 2 % loss, link pulled",
                       "--verdict", "passed", "--command", " ".join(["lwipd"] + d.args))
    print("report: %.1f s, %d bytes" % (time.monotonic() - t0, len(text)))
    self_contained(text)

    png = str(tmp_path / "report.png")
    t0 = time.monotonic()
    dom_text, console = chromium("file://" + out, str(tmp_path), "--dump-dom")
    _, console2 = chromium("file://" + out, str(tmp_path), "--screenshot=" + png,
                           "--window-size=%d,%d" % WINDOW)
    print("chromium: %.1f s for the DOM and the screenshot" % (time.monotonic() - t0))
    assert not console + console2, console + console2
    assert png_size(png) == WINDOW
    shutil.copy(png, os.path.join(workdir, "report.png"))

    dom = Dom()
    dom.feed(dom_text)
    words = " ".join(dom.text)
    for title in ("Throughput per direction", "Link state and fault actions",
                  "TCP retransmissions", "TCP duplicate ACKs", "TX-complete IRQs",
                  "memp pool usage", "lwIP heap in use", "The run", "Leaks"):
        assert title in words, title
    for plot in ("throughput", "link", "retrans", "dupacks", "irq", "pools", "heap"):
        assert "plot-" + plot in dom.ids, plot
    # Data: a point per time bin (about 150 over 3-4 s) in each direction,
    # a point per stats record.
    for series, least in (("series-throughput-rx", 50), ("series-throughput-tx", 50),
                          ("series-retrans-rx", 50), ("series-iperf3-0", 3),
                          ("series-irq-0", 10), ("series-heap", 10)):
        assert dom.points.get(series, 0) >= least, (series, dom.points.get(series))
    assert any(i.startswith("series-pool-") and dom.points[i] >= 10 for i in dom.points), \
        dom.points
    assert "link-down-band" in dom.ids and dom.points.get("link-down-band", 0) >= 4
    assert dom.points.get("fault-marks-rule-1", 0) >= 10, dom.points.get("fault-marks-rule-1")
    assert "lwipd" in words and "unknown (no version.json" not in words
    assert 'rx drop 2% "tcp"' in words and "seed" in words and "7" in words
    assert re.search(r"\d+ retransmissions", words)


def test_report_of_a_crash(netns, workdir, tmp_path):
    """A run that ended in a crash report (scenario 1 of test_isr.py): the
    report names the crash, draws its line, and still loads cleanly."""
    with harness.Storm(netns, workdir, harness.LWIPD,
                       ["--txc-free", "isr", "--events", os.path.join(workdir, "ev.jsonl")],
                       10) as s:
        code, _ = s.wait_exit(10)
        s.d.expect_failure = True
    assert code == 3
    crash = glob.glob(os.path.join(workdir, "lwipd-crash-*.json"))
    assert len(crash) == 1
    out = os.path.join(workdir, "report.html")
    text = make_report(workdir, out)
    self_contained(text)
    dom_text, console = chromium("file://" + out, str(tmp_path), "--dump-dom")
    assert not console, console
    dom = Dom()
    dom.feed(dom_text)
    words = " ".join(dom.text)
    assert "crashed: irq-violation" in words and "Crash report" in words
    assert "--txc-free isr" in words and "replay (crash report)" in words  # its command line
    assert re.search(r"\w+\+\d+  \S+\.c:\d+", words)  # a stack frame with file:line
    assert "crash-throughput" in dom.ids  # the crash's line on the plots
    assert dom.points.get("series-throughput-tx", 0) >= 3
