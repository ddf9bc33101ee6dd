# SPDX-License-Identifier: MIT
"""The lwipd Python module's readers (python/lwipd) on files built here:
classic pcap (ns and us stamps), pcapng (directions, comments, stamp
resolutions, a cut last block), rotated sets in order, the TCP
retransmission and duplicate-ACK counts, and a run directory's files
told apart. No namespace, no daemon."""
import json
import os
import struct

import pytest

from lwipd import capture, report, runfiles
from lwipd import testing as harness

LWIP_MAC = "02:4c:77:00:00:02"
HOST_MAC = "02:00:00:00:00:01"
LWIP_IP, HOST_IP = "198.18.0.2", "198.18.0.1"


def eth(src, dst, ethertype, payload):
    return capture.mac_bytes(dst) + capture.mac_bytes(src) + struct.pack(">H", ethertype) + payload


def tcp_frame(from_lwip, seq, ack, flags=capture.TCP_ACK, win=1000, data=b"", sport=None):
    """An Ethernet/IPv4/TCP frame between lwIP (port 5201) and the host (40000)."""
    src, dst = (LWIP_IP, HOST_IP) if from_lwip else (HOST_IP, LWIP_IP)
    sp, dp = (5201, 40000) if from_lwip else (40000, 5201)
    tcp = struct.pack(">HHIIBBHHH", sport or sp, dp, seq, ack, 5 << 4, flags, win, 0, 0) + data
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))) + tcp
    macs = (LWIP_MAC, HOST_MAC) if from_lwip else (HOST_MAC, LWIP_MAC)
    return eth(macs[0], macs[1], 0x0800, ip)


def pcap_file(path, frames, nano=True, endian="<"):
    """Classic pcap of FRAMES [(ts_ns, bytes)]."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for ts, data in frames:
        frac = ts % 10**9 if nano else ts % 10**9 // 1000
        out.append(struct.pack(endian + "IIII", ts // 10**9, frac, len(data), len(data)) + data)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def block(btype, body, endian="<"):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def option(code, value, endian="<"):
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_file(path, frames, tsresol=9, endian="<", cut=0):
    """pcapng: SHB, IDB (Ethernet, if_tsresol), an EPB per (ts_units,
    bytes, epb_flags or None, [comments]); CUT bytes off the end."""
    e = endian
    out = [block(capture.PCAPNG_SHB, struct.pack(e + "IHHq", capture.PCAPNG_BOM, 1, 0, -1) +
                 option(0, b"", e), e),
           block(1, struct.pack(e + "HHI", 1, 0, 0) + option(9, bytes([tsresol]), e) +
                 option(0, b"", e), e)]
    for ts, data, flags, comments in frames:
        opts = b"".join(option(1, c.encode(), e) for c in comments)
        if flags is not None:
            opts += option(2, struct.pack(e + "I", flags), e)
        body = struct.pack(e + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data) + 4)
        body += data + b"\0" * (-len(data) % 4) + opts + (option(0, b"", e) if opts else b"")
        out.append(block(6, body, e))
    data = b"".join(out)
    with open(path, "wb") as f:
        f.write(data[:len(data) - cut])


T0 = 1796644523_123456789


@pytest.mark.parametrize("nano,endian", [(True, "<"), (False, "<"), (True, ">")])
def test_classic_pcap(tmp_path, nano, endian):
    path = str(tmp_path / "c.pcap")
    frames = [(T0, tcp_frame(False, 1, 1)), (T0 + 1500, tcp_frame(True, 1, 1, data=b"ab"))]
    pcap_file(path, frames, nano, endian)
    got = capture.read_frames(path)
    assert [f.data for f in got] == [d for _, d in frames]
    want = [T0, T0 + 1500] if nano else [T0 // 1000 * 1000, (T0 + 1500) // 1000 * 1000]
    assert [f.ts_ns for f in got] == want
    assert got[0].direction is None and got[1].orig_len == len(frames[1][1])
    got = capture.assign_directions(got, LWIP_MAC)
    assert [f.direction for f in got] == [capture.RX, capture.TX]
    assert harness.read_pcap(path)[1] == (got[1].ts, frames[1][1])


def test_classic_pcap_cut_record(tmp_path):
    path = str(tmp_path / "c.pcap")
    pcap_file(path, [(T0, tcp_frame(False, 1, 1)), (T0 + 1, tcp_frame(False, 1, 1))])
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 5)
    assert len(capture.read_frames(path)) == 1


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_directions_and_comments(tmp_path, endian):
    path = str(tmp_path / "c.pcapng")
    frames = [(T0, tcp_frame(False, 1, 1), 1, ["fault: rule 1 drop"]),
              (T0 + 7, tcp_frame(True, 1, 1), 2, []),
              (T0 + 9, tcp_frame(True, 2, 1), None, ["a", "b ü"])]
    pcapng_file(path, frames, endian=endian)
    got = capture.read_frames(path)
    assert [f.ts_ns for f in got] == [T0, T0 + 7, T0 + 9]
    assert [f.direction for f in got] == [capture.RX, capture.TX, None]
    assert [f.comments for f in got] == [("fault: rule 1 drop",), (), ("a", "b ü")]
    assert [f.data for f in got] == [d for _, d, _, _ in frames]
    assert got[0].orig_len == len(frames[0][1]) + 4
    # the file's own direction wins over the MAC
    assert capture.assign_directions(got, HOST_MAC)[0].direction == capture.RX


def test_pcapng_resolutions_and_cut_block(tmp_path):
    path = str(tmp_path / "us.pcapng")
    pcapng_file(path, [(T0 // 1000, b"\0" * 60, 1, [])], tsresol=6)
    assert capture.read_frames(path)[0].ts_ns == T0 // 1000 * 1000
    path = str(tmp_path / "bin.pcapng")
    pcapng_file(path, [(3 << 20, b"\0" * 60, 1, [])], tsresol=0x80 | 20)  # 2^-20 s
    assert capture.read_frames(path)[0].ts_ns == 3 * 10**9
    path = str(tmp_path / "cut.pcapng")
    pcapng_file(path, [(T0, b"\0" * 60, 1, []), (T0 + 1, b"\0" * 60, 1, [])], cut=8)
    assert len(capture.read_frames(path)) == 1


def test_not_a_capture(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(b"hello world, not a pcap file at all....")
    with pytest.raises(capture.CaptureError):
        capture.read_frames(str(path))


def test_rotated_files_in_order(tmp_path):
    """capture.pcap is the newest; .1 the one before; .10 sorts after .9."""
    base = str(tmp_path / "capture.pcap")
    for i, suffix in enumerate(["", ".1", ".2", ".9", ".10", ".x"]):
        pcap_file(base + suffix, [(T0 - i * 10**9, tcp_frame(False, i, 1))])
    assert capture.rotated_files(base) == [base + s for s in (".10", ".9", ".2", ".1", "")]
    ts = [f.ts_ns for f in capture.read_capture(base)]
    assert ts == sorted(ts) and len(ts) == 5


def test_retransmissions_and_dup_acks():
    A = capture.TCP_ACK
    frames = [tcp_frame(False, 100, 1, capture.TCP_SYN, data=b""),      # SYN
              tcp_frame(False, 100, 1, capture.TCP_SYN),                # SYN again: retrans
              tcp_frame(False, 101, 1, A, data=b"x" * 10),              # 101-111
              tcp_frame(False, 111, 1, A, data=b"x" * 10),              # 111-121
              tcp_frame(True, 1, 111, A, win=500),                      # ACK
              tcp_frame(True, 1, 111, A, win=500),                      # dup 1
              tcp_frame(True, 1, 111, A, win=500),                      # dup 2
              tcp_frame(True, 1, 111, A, win=600),                      # window update
              tcp_frame(True, 1, 111, A, win=600, data=b"d"),           # data: not a dup
              tcp_frame(False, 111, 2, A, data=b"x" * 10),              # retrans
              tcp_frame(False, 105, 2, A, data=b"x" * 20),              # partial: retrans
              tcp_frame(False, 125, 2, A, data=b"x" * 5),               # new
              tcp_frame(False, 130, 2, A),                              # dup 3 (of 11's)
              tcp_frame(False, 130, 2, A),                              # dup 4
              tcp_frame(False, 130, 2, A, sport=40001),                 # other connection
              tcp_frame(True, 2, 130, A | capture.TCP_FIN),             # FIN
              tcp_frame(True, 2, 130, A | capture.TCP_FIN)]             # FIN again: retrans
    segs = capture.tcp_segments([(float(i), f) for i, f in enumerate(frames)], LWIP_IP)
    assert len(segs) == len(frames)
    retrans, dups = capture.tcp_anomalies(segs)
    assert [s["ts"] for s in retrans] == [1.0, 9.0, 10.0, 16.0]
    assert [s["ts"] for s in dups] == [5.0, 6.0, 12.0, 13.0]


def test_sequence_wraparound():
    A = capture.TCP_ACK
    frames = [tcp_frame(False, 0xFFFFFFF0, 1, A, data=b"x" * 32),  # wraps to 0x10
              tcp_frame(False, 0x10, 1, A, data=b"x" * 8),         # new
              tcp_frame(False, 0xFFFFFFF8, 1, A, data=b"x" * 8)]   # old: retrans
    retrans, _ = capture.tcp_anomalies(capture.tcp_segments(
        [(float(i), f) for i, f in enumerate(frames)], LWIP_IP))
    assert [s["ts"] for s in retrans] == [2.0]


def test_run_files_told_apart(tmp_path):
    """A run directory: each file read as what it is, whatever its name."""
    d = tmp_path
    pcap_file(str(d / "capture.pcap"), [(T0, tcp_frame(False, 1, 1))])
    pcap_file(str(d / "capture.pcap.1"), [(T0 - 10**9, tcp_frame(True, 1, 1))])
    (d / "ev").write_text('{"api":1,"seq":1,"ts_ns":%d,"type":"link","state":"down"}\n'
                          '{"api":1,"seq":2,"ts_ns":%d,"type":"link","state":"up"}\n' % (
                              T0 - 5 * 10**8, T0 - 10**8))
    st = {"lwip": {"mem": {"used": 1}, "memp": {}}, "driver": {}}
    (d / "sl").write_text("".join(json.dumps({"api": 1, "ts_ns": T0 + i, "seq": i + 1,
                                              "stats": st}) + "\n" for i in range(3)))
    (d / "stats-1.json").write_text(json.dumps(st))
    (d / "leaks-1.json").write_text(json.dumps({"clean": True, "leaked": {}}))
    (d / "lwipd.log").write_text("x lwipd[1] info  [daemon] READY pid=1 mac=%s lwip=2.1.3\n"
                                 % LWIP_MAC)
    (d / "notes.json").write_text("[1, 2]")
    (d / "capture.pcap.2").write_bytes(b"damaged, not a capture at all")
    run = runfiles.load([str(d)])
    assert len(run.events) == 2 and len(run.stats_log) == 3
    assert len(run.snapshots) == 1 and len(run.leaks) == 1
    assert run.captures == [str(d / "capture.pcap")] and run.ready()["lwip"] == "2.1.3"
    assert [os.path.basename(p) for p, _ in run.ignored] == ["notes.json"]
    frames, how = runfiles.frames(run, None)
    assert [os.path.basename(p) for p, _ in run.ignored] == ["notes.json", "capture.pcap.2"]
    assert [f.direction for f in frames] == [capture.TX, capture.RX] and "READY" in how
    tl = report.Timeline([T0 - 10**9, T0])
    assert report.link_intervals(run.events, tl) == [(0.5, 0.9)]


def test_fault_marks_from_stats_counters(tmp_path):
    """Without "fault" events, a rule's marks come from its stats counter."""
    def rec(i, acted):
        return json.dumps({"api": 1, "ts_ns": T0 + i * 10**8, "seq": i, "stats": {
            "fault": {"rules": [{"id": 3, "rule": "tx drop 5%", "acted": acted}]},
            "lwip": {"mem": {"used": 0}, "memp": {}}, "driver": {}, "irq": {}}}) + "\n"
    (tmp_path / "sl").write_text(rec(0, 0) + rec(1, 2) + rec(2, 2) + rec(3, 5))
    text = report.render([str(tmp_path)])
    assert 'id="fault-marks-rule-3"' in text and "rule 3: tx drop 5% (5)" in text
    marks = text.split('id="fault-marks-rule-3"')[1].split("</g>")[0]
    assert marks.count("<use ") == 2  # the records where the counter grew


def test_lwipctl_iperf3_json_is_drawn(tmp_path):
    """`lwipctl iperf3 --json` output (start.connected a count, where
    iperf3 -J has a list) is drawn like iperf3's own -J."""
    frames = [(T0, tcp_frame(False, 1, 1)), (T0 + 10**9, tcp_frame(False, 2, 1))]
    pcap_file(str(tmp_path / "capture.pcap"), frames)
    ivs = [{"sum": {"start": i, "end": i + 1, "seconds": 1, "bytes": 125000,
                    "bits_per_second": 1e6}} for i in range(3)]
    (tmp_path / "lwip-client.json").write_text(json.dumps({
        "start": {"connected": 1, "test_start": {"protocol": "TCP", "reverse": 0},
                  "timestamp": {"timesecs": T0 // 10**9}},
        "intervals": ivs, "end": {"sum_sent": {"bytes": 375000}}}))
    text = report.render([str(tmp_path)])
    assert 'id="series-iperf3-0"' in text
