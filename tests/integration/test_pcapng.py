# SPDX-License-Identifier: MIT
"""--pcap-format pcapng, read by tshark: each frame's direction (inbound =
host to lwIP, outbound = lwIP to host), every event a comment on its frame
(a fault's on the frame it acted on, others on the next frame written),
frames a tx drop rule kept off the TAP there too, marked, time never going
back, and an event's "frame" equal to Wireshark's frame number. Rotated
pcapng files each start with their own section header."""
import json
import os
import re

from lwipd import testing as harness

FIELDS = ("frame.number", "frame.time_epoch", "frame.time_delta", "frame.comment",
          "frame.packet_flags_direction", "eth.src", "icmp.type")


def tshark(path):
    """[{field: [values]}] per frame, in file order, as tshark reads it."""
    cmd = ["tshark", "-n", "-r", path, "-T", "json"]
    for f in FIELDS:
        cmd += ["-e", f]
    r = harness.run(cmd, timeout=60)
    return [p["_source"]["layers"] for p in json.loads(r.stdout)]


def one(frame, field, default=None):
    v = frame.get(field)
    return v[0] if v else default


def epoch_ns(text):
    sec, _, frac = text.partition(".")
    return int(sec) * 1000000000 + int((frac + "000000000")[:9])


def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def direction(frame):
    return int(one(frame, "frame.packet_flags_direction"), 0)


def test_pcapng_directions_comments_order(netns, lwipd_factory, workdir):
    ev = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--pcap-format", "pcapng", "--events", ev, "--seed", "1",
                      "--fault", 'tx drop 50% "icmp"')
    harness.ping(netns, d.ip, count=20, interval=0.01)
    assert d.request({"cmd": "link", "state": "down"})["link"] == "down"
    assert d.request({"cmd": "link", "state": "up"})["link"] == "up"
    harness.wait_for(netns.carrier, 5, "host carrier on")
    harness.wait_for(lambda: harness.ping(netns, d.ip, count=1)["transmitted"] == 1, 10,
                     "a frame after the link came up")
    assert d.request({"cmd": "capture", "op": "mark", "text": "pcapng mark"})["ok"] is True
    harness.ping(netns, d.ip, count=4, interval=0.01)
    tx_fault_drop = d.stats()["driver"]["tx_fault_drop"]
    assert d.stop() == 0  # flushes the capture and the events

    frames = tshark(d.pcap)
    assert frames
    assert [int(one(f, "frame.number")) for f in frames] == list(range(1, len(frames) + 1))
    # time order: no negative delta, anywhere
    assert all(float(one(f, "frame.time_delta")) >= 0 for f in frames)
    # directions by MAC: lwIP's frames outbound, the host's inbound
    mine = d.mac.lower()
    for f in frames:
        want = 2 if one(f, "eth.src").lower() == mine else 1
        assert direction(f) == want, f
    comments = {int(one(f, "frame.number")): f.get("frame.comment", []) for f in frames}

    def carrying(pred):
        return [n for n, cs in comments.items() if any(pred(c) for c in cs)]

    # the dropped replies are there, outbound, marked, and only them
    dropped = carrying(lambda c: c.startswith("dropped by fault rule 1 (tx drop 50% \"icmp\")"))
    assert len(dropped) == tx_fault_drop > 0
    for n in dropped:
        assert direction(frames[n - 1]) == 2 and one(frames[n - 1], "icmp.type") == "0"
    log = events(ev)
    drops = [e for e in log if e["type"] == "fault" and e["action"] == "drop"]
    assert sorted(e["frame"] for e in drops) == dropped
    # every event that names a frame names the one carrying it
    by_seq = {}
    for n, cs in comments.items():
        for c in cs:
            if c.startswith("{"):
                e = json.loads(c)
                by_seq[e["seq"]] = (n, e)
    for e in log:
        if "frame" in e:
            assert by_seq[e["seq"]][0] == e["frame"], e
    # link edges and the mark: on the first frame written after them
    stamps = [epoch_ns(one(f, "frame.time_epoch")) for f in frames]
    seen = set()
    for e in log:
        if e["type"] not in ("link", "mark"):
            continue
        n, c = by_seq[e["seq"]]
        assert c == e
        assert stamps[n - 1] >= e["ts_ns"] and (n == 1 or stamps[n - 2] <= e["ts_ns"]), (n, e)
        seen.add((e["type"], e.get("state"), e.get("text")))
    assert {("link", "down", None), ("link", "up", None), ("mark", None, "pcapng mark")} <= seen


def test_pcapng_rotation_each_file_readable(netns, workdir):
    pcap = os.path.join(workdir, "cap.pcapng")
    d = harness.Lwipd(netns, workdir, pcap=False,
                      extra_args=["--pcap", pcap, "--pcap-format", "pcapng",
                                  "--pcap-filter", "icmp", "--pcap-rotate", "20K:3"])
    d.start()
    try:
        assert harness.ping(netns, d.ip, count=200, interval=0.005)["received"] == 200
        harness.wait_for(lambda: os.path.exists(pcap + ".2"), 5, "rotated files")
        assert d.request({"cmd": "capture", "op": "rotate"})["ok"] is True
        assert harness.ping(netns, d.ip, count=5)["received"] == 5  # into the new file
    finally:
        assert d.stop() == 0
    numbers = []
    for f in (pcap, pcap + ".1", pcap + ".2"):
        with open(f, "rb") as fh:
            assert fh.read(4) == b"\x0a\x0d\x0d\x0a"  # a section header first
        frames = tshark(f)
        assert frames and all(one(fr, "icmp.type") in ("0", "8") for fr in frames)
        numbers.append(int(one(frames[0], "frame.number")))
        r = harness.run(["capinfos", "-t", f], timeout=30)
        assert re.search(r"File type:.*pcapng", r.stdout), r.stdout
    assert numbers == [1, 1, 1]  # numbered from 1 in each file
