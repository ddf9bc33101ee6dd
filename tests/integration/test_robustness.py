# SPDX-License-Identifier: MIT
"""Bad input from both sides: malformed frames on the TAP (random bytes,
then crafted hostile traffic: scapy fuzz() over every layer lwIP parses, a
SYN flood, overlapping-fragment storms, fuzzed DHCP replies to lwIP's DHCP
client), garbage on the control socket.

The hostile-traffic tests run on every lwIP version of the matrix
(VERSION_MATRIX in conftest.py) and record what each version counted in
test-artifacts/robustness-VERSION.json. They are seeded (LWIPD_HOSTILE_SEED,
recorded with the sha256 of every frame sent), so a run is replayed with
the same seed; lwipd's own capture (capture.pcap, kept when a test fails)
holds the frames as lwIP got them."""
import glob
import json
import os
import signal
import subprocess
import time

from lwipd import testing as harness


def tap_tx_dropped(netns):
    """Frames the kernel dropped on their way into the TAP: its queue was
    full (lwipd reading slower than the injector writes, e.g. under
    valgrind). lwipd never sees those."""
    r = netns.run(["cat", "/sys/class/net/%s/statistics/tx_dropped" % netns.tap])
    return int(r.stdout)


def test_10000_malformed_frames(netns, lwipd):
    before = lwipd.stats()["driver"]["rx_frames"]
    dropped_before = tap_tx_dropped(netns)
    r = netns.helper("nettools.py", "inject", netns.tap, lwipd.mac, harness.HOST_IP, lwipd.ip,
                     10000, 12345, timeout=300)
    assert r["sent"] == 10000 and r["kinds"].get("send-failed", 0) == 0, r
    assert lwipd.alive()
    # Every frame that entered the TAP is read; the ones the kernel dropped at
    # a full queue are counted by the TAP (and stay a small share).
    harness.wait_for(lambda: lwipd.stats()["driver"]["rx_frames"] - before
                     + tap_tx_dropped(netns) - dropped_before >= 10000, 30,
                     "lwipd to read all 10000 frames that entered the TAP")
    assert tap_tx_dropped(netns) - dropped_before < 1000
    p = harness.ping(netns, lwipd.ip, count=20)
    assert p["received"] == 20, p["output"]
    s = lwipd.stats()["lwip"]
    # lwIP saw and rejected them: length, protocol and checksum errors counted.
    assert s["ip"]["lenerr"] + s["ip"]["chkerr"] + s["ip"]["drop"] + s["ip"]["proterr"] > 100
    assert lwipd.alive()


def test_control_garbage_gets_errors_and_connection_stays(lwipd):
    bad = [b"\x00\xff\xfe garbage \x01", b"{not json", b"[1,2,3]", b"42", b'"cmd"',
           b'{"cmd": 7}', b'{"nocmd": true}', b'{"cmd": ""}', b'{"cmd": "no-such-command"}',
           b'{"cmd": "link", "state": 1}']
    with harness.ControlClient(lwipd.control) as c:
        for b in bad:
            c.send_raw(b + b"\n")
            resp = c.read_line()
            assert resp["ok"] is False, (b, resp)
            assert isinstance(resp["error"], str) and resp["error"], resp
            # Same connection still serves real requests.
            assert c.request({"cmd": "status"})["ok"] is True
        c.send_raw(b'{"cmd":"status"}\r\n')  # CRLF clients too
        assert c.read_line()["ok"] is True
    unknown = lwipd.request({"cmd": "frobnicate"})
    assert "unknown command" in unknown["error"]
    assert lwipd.alive()


def test_control_oversize_line_refused(lwipd):
    with harness.ControlClient(lwipd.control) as c:
        try:
            c.send_raw(b'{"cmd":"' + b"a" * 200000)
        except OSError:
            pass  # the daemon may close while we are still sending
        resp = c.read_line()
        assert resp["ok"] is False and "too long" in resp["error"]
        try:
            c.read_line()
            assert False, "connection should be closed"
        except (EOFError, OSError):
            pass
    assert lwipd.request({"cmd": "status"})["ok"] is True


CONTROL_MAX_CLIENTS = 128  # lwipctl(1): "more than 128 clients at once are refused"


def test_control_too_many_clients(lwipd):
    clients = []
    try:
        # The test's own connection (the fixture's) counts too.
        for _ in range(CONTROL_MAX_CLIENTS + 2):
            clients.append(harness.ControlClient(lwipd.control, timeout=5))
        # The last ones were refused with an error; the first ones still work.
        refused = clients[-1].read_line()
        assert refused["ok"] is False and "too many" in refused["error"]
        assert clients[0].request({"cmd": "status"})["ok"] is True
    finally:
        for c in clients:
            c.close()
    harness.wait_for(lambda: lwipd.request({"cmd": "status"})["control_clients"] == 1, 5,
                     "refused clients to be dropped")


def test_lwipctl_exit_codes(lwipd, workdir):
    assert lwipd.lwipctl("raw", '{"cmd":"frobnicate"}').returncode == 1
    assert lwipd.lwipctl("raw", "not json").returncode == 64
    assert lwipd.lwipctl("no-such").returncode == 1
    r = harness.run([harness.LWIPCTL, "-s", os.path.join(workdir, "nobody.sock"), "status"],
                    check=False)
    assert r.returncode == 69 and "is lwipd running" in r.stderr
    r = lwipd.lwipctl("--json", "help")
    assert r.returncode == 0 and "stats" in json.loads(r.stdout)["commands"]


# ---- hostile traffic on every lwIP version ---------------------------------------

HOSTILE_SEED = int(os.environ.get("LWIPD_HOSTILE_SEED", "20261207"))
# Under valgrind (scripts/valgrind runs this file) lwIP takes each frame
# about TIME_SCALE times slower: a tenth of the frames at a TIME_SCALE-th of
# the rate keeps the TAP's queue from overflowing and the run as long.
SCALE = harness.TIME_SCALE
SHARE = 10 if harness.VALGRIND else 1
FUZZ_FRAMES = 20000 // SHARE
SYN_FLOOD = 5000 // SHARE
FRAG_DATAGRAMS = 1000 // SHARE
DHCP_FRAMES, DHCP_ROUNDS = 2000 // SHARE, 4
# Frames a second. The helper needs about 0.7 ms of CPU to build one fuzzed
# frame, so the fuzz runs at whatever the machine gives up to this: about
# 10-35 s for the 20,000 (a loaded 2-core machine). The flood and the storm
# are built with struct and run at their rate.
FUZZ_RATE, FLOOD_RATE, FRAG_RATE = 2000 / SCALE, 2500 / SCALE, 2500 / SCALE
# DHCP replies: slow enough that lwIP's client answers an OFFER with a
# REQUEST (whose xid the fuzzer reads) between two replies.
DHCP_RATE = 400 / SCALE
IGMP_GROUP = "239.255.18.1"  # hostile.py's, as test_igmp.py's
# Growth allowed across the whole hostile run, measured against the process
# after a warm-up (ping + TCP echo). lwIP allocates nothing from malloc here
# (its heap and pools are static arrays), so what the hostile traffic can add
# to the RSS is the pages of those arrays it touches for the first time: a
# SYN flood holds up to MEMP_NUM_TCP_PCB PCBs, the fragment storm up to
# IP_REASS_MAX_PBUFS pbufs, the fuzz a few hundred pool pbufs at a time. That
# is well under 2 MiB; a leak of even 100 bytes per frame over the ~35,000
# frames would exceed it (3.5 MB). Descriptors: none may be added.
RSS_GROWTH_BOUND_KB = 2048


def proc_usage(pid):
    """RSS (kB) and open descriptors of PID, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        rss = int([line for line in f if line.startswith("VmRSS:")][0].split()[1])
    return {"rss_kb": rss, "fds": len(os.listdir("/proc/%d/fd" % pid))}


def counter_delta(before, after):
    """The lwIP stats counters that moved (section.counter: delta)."""
    out = {}
    for sec, vals in after["lwip"].items():
        if sec in ("memp", "sys", "mem"):
            continue
        for k, v in vals.items():
            d = v - before["lwip"][sec].get(k, 0)
            if isinstance(v, int) and d:
                out["%s.%s" % (sec, k)] = d
    for k in ("rx_frames", "rx_errors", "rx_nomem", "rx_input_fail", "rx_oversize"):
        d = after["driver"][k] - before["driver"][k]
        if d:
            out["driver." + k] = d
    for pool, p in after["lwip"]["memp"].items():
        if p["err"]:
            out["memp.%s.err" % pool] = p["err"]
    out["mem.max"] = after["lwip"]["mem"]["max"]
    out["mem.err"] = after["lwip"]["mem"]["err"]
    return out


def record_hostile(d, name, outcome):
    """Add OUTCOME (a dict) under NAME to test-artifacts/robustness-VERSION.json,
    the per-version record of what lwIP did with the hostile traffic."""
    version = d.ready["lwip"]
    path = os.path.join(harness.artifacts_dir(), "robustness-%s.json" % version)
    try:
        with open(path) as f:
            seen = json.load(f)
    except (OSError, ValueError):
        seen = {}
    seen[name] = dict(outcome, lwip_version=version)
    os.makedirs(harness.artifacts_dir(), exist_ok=True)
    with open(path, "w") as f:
        json.dump(seen, f, indent=1, sort_keys=True)
    print("%s on lwIP %s: %s" % (name, version, json.dumps(outcome, sort_keys=True)))


def hostile(netns, *args, timeout=180):
    return netns.helper("hostile.py", *args, timeout=timeout)


def check_serves(netns, d):
    """Ping and a TCP echo through lwIP, byte for byte."""
    p = harness.ping(netns, d.ip, count=20)
    assert p["received"] == 20, p["output"]
    r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 256 * 1024)
    assert r["match"], r


def test_hostile_frames_are_reproducible():
    """The fuzz is a function of its seed: the same seed, the same frames."""
    def digest(seed):
        r = harness.run([harness.PYTHON, harness.helper_path("hostile.py"), "fuzz",
                         "lo", "02:00:00:00:00:02", harness.HOST_IP, harness.LWIP_IP, "300",
                         str(seed), "100000", "--dry"], timeout=120)
        return json.loads(r.stdout)

    a, b, c = digest(HOSTILE_SEED), digest(HOSTILE_SEED), digest(HOSTILE_SEED + 1)
    assert a["sha256"] == b["sha256"] and a["kinds"] == b["kinds"]
    assert c["sha256"] != a["sha256"]
    # Every layer is in the mix, and scapy could build every frame.
    assert set(a["kinds"]) == {"ether", "vlan", "arp", "ipv4", "ipv4-options", "icmp", "igmp",
                               "udp", "tcp", "tcp-options", "dhcp"}, a["kinds"]


def ready_version(d):
    """lwIP's version from lwipd's ready line (known also once it died)."""
    return tuple(int(x) for x in d.ready["lwip"].split("."))


def frag_double_free(d):
    """lwIP 2.0.3 frees an overlapping or duplicate IPv4 fragment twice and
    asserts 'pbuf_free: p->ref > 0' under ip4_reass(): the bug zoo's
    frag-dup-double-free (row 17), fixed in 2.1.0 by lwIP commit 0795e289."""
    return ready_version(d) < (2, 1, 0)


def dhcp_option_length_asserts(d):
    """lwIP up to 2.1.2 checks the lengths of the DHCP options it decodes
    (lease time, T1, T2, server id, subnet mask: 'len == 4'; message type:
    'len == 1') in dhcp_parse_reply() with LWIP_ERROR, which asserts in any
    build with assertions on (debug.h: LWIP_PLATFORM_ERROR is
    LWIP_PLATFORM_ASSERT unless LWIP_NOASSERT): one reply with a matching
    xid and a lying option length takes the stack down. 2.1.3 made
    LWIP_ERROR non-fatal and checks DHCP input with LWIP_DHCP_INPUT_ERROR,
    which only drops the reply. Found by this test (2.0.3); not in the bug
    zoo yet."""
    return ready_version(d) < (2, 1, 3)


def crash_report(d):
    """The crash report lwipd wrote for D (its report dir is the workdir:
    the capture's directory), or None."""
    paths = sorted(glob.glob(os.path.join(d.workdir, "lwipd-crash-*-%d.json" % d.pid)))
    if not paths:
        return None
    with open(paths[-1]) as f:
        return json.load(f)


def expect_known_assert(d, message, function):
    """D hit a known lwIP assert (a bug of its version): lwipd reported it
    (kind lwip-assert, MESSAGE, FUNCTION on the stack) and exited 3."""
    d.expect_failure = True
    code = d.wait(timeout=30)  # (the harness scales it)
    rep = harness.wait_for(lambda: crash_report(d), 10, "lwipd's crash report")
    fns = [f["fn"] for f in rep["stack"]["frames"]]
    assert code == 3 and rep["kind"] == "lwip-assert", (code, rep["kind"], rep["message"])
    assert message in rep["message"] and function in fns, (rep["message"], fns)
    return {"outcome": "lwIP assert (known bug of this version)", "exit": code,
            "assert": rep["message"].split(" (")[0], "stack": fns[1:4]}


def pcb_room(d):
    """lwIP's TCP PCB pool has a free PCB."""
    pool = d.stats()["lwip"]["memp"]["TCP_PCB"]
    return pool["used"] < pool["avail"]


def read_frames(d_or_stats):
    """Frames lwipd read from the TAP: given to lwIP (rx_frames) or dropped
    for want of a pool buffer (rx_nomem)."""
    st = d_or_stats if isinstance(d_or_stats, dict) else d_or_stats.stats()
    return st["driver"]["rx_frames"] + st["driver"]["rx_nomem"]


class Hostile:
    """Measures around a hostile run against D: counters, the TAP's drops,
    the process's RSS and descriptors (after a warm-up), the time."""

    def __init__(self, netns, d):
        self.netns, self.d = netns, d
        check_serves(netns, d)  # warm-up: the normal paths' pages are touched
        self.usage0 = proc_usage(d.pid)
        self.s0 = d.stats()
        self.dropped0 = tap_tx_dropped(netns)
        self.t0 = time.monotonic()

    def survived(self, sent):
        """lwipd took the SENT frames and is well: alive, every frame read,
        ping and TCP echo served, pools and heap back to the baseline (lwIP's
        15 s reassembly timeout allowed for), descriptors back, RSS within
        the bound. Returns the record: counters that moved, measures."""
        netns, d = self.netns, self.d
        injection_s = time.monotonic() - self.t0
        assert d.alive() and d.request({"cmd": "status"})["ok"]
        # (rx_nomem: read and dropped with the pool empty, as an EMAC with no
        # free descriptor; a small PBUF_POOL_SIZE does that under the storm)
        harness.wait_for(lambda: read_frames(d) - read_frames(self.s0)
                         + tap_tx_dropped(netns) - self.dropped0 >= sent, 30 * SCALE,
                         "lwipd to read every frame that entered the TAP")
        s1 = d.stats()
        tap_dropped = tap_tx_dropped(netns) - self.dropped0
        assert tap_dropped < sent // 20, tap_dropped  # the pacing keeps the TAP's queue short
        # Fuzzed SYNs leave SYN_RCVD PCBs that lwIP keeps for
        # TCP_SYN_RCVD_TIMEOUT (20 s) and does not kill for a new one of the
        # same priority: with a few PCBs (vendor: 10) the echo gets one only
        # once they expire. A big pool has room at once.
        harness.wait_for(lambda: pcb_room(d), 30 * SCALE, "a free TCP PCB in lwIP's pool")
        check_serves(netns, d)
        clean, leaks = d.wait_leaks_clean(timeout=40 * SCALE)
        assert clean, leaks
        # Descriptors: those of before once the test's control connections
        # are gone.
        harness.wait_for(lambda: proc_usage(d.pid)["fds"] <= self.usage0["fds"], 10 * SCALE,
                         "lwipd's descriptors back to %d" % self.usage0["fds"])
        usage1 = proc_usage(d.pid)
        self.record = {"outcome": "survived", "injection_seconds": round(injection_s, 1),
                       "tap_dropped": tap_dropped, "lwip": counter_delta(self.s0, s1),
                       "process": {"before": self.usage0, "after": usage1}}
        # (Under valgrind the RSS is memcheck's: its shadow memory and its
        # allocator's, not lwipd's; under ASan its quarantine of freed
        # memory grows it by design. Recorded, not bounded.)
        if not harness.VALGRIND and harness.build_options().get("b_sanitize", "none") == "none":
            assert usage1["rss_kb"] - self.usage0["rss_kb"] <= RSS_GROWTH_BOUND_KB, self.record
        self.s1 = s1
        return self.record

    def moved(self, sec, key):
        return self.s1["lwip"][sec][key] - self.s0["lwip"][sec][key]


def test_hostile_fragment_storm(netns, lwipd_factory):
    """1,000 UDP datagrams cut into overlapping, teardrop, duplicate,
    missing, oversize (past 65535), conflicting-last, 8-byte, reversed,
    too-many and zero-length fragments."""
    d = lwipd_factory()
    h = Hostile(netns, d)
    storm = hostile(netns, "frag-storm", netns.tap, d.mac, harness.HOST_IP, d.ip,
                    FRAG_DATAGRAMS, HOSTILE_SEED, FRAG_RATE)
    if frag_double_free(d):
        outcome = expect_known_assert(d, "pbuf_free: p->ref > 0", "ip4_reass")
        record_hostile(d, "fragment storm", dict(storm, **outcome))
        return
    assert storm["send_failed"] == 0, storm
    rec = h.survived(storm["sent"])
    record_hostile(d, "fragment storm", dict(storm, **rec))
    # Every fragment went to lwIP's reassembly, which dropped the bad ones;
    # but for those a build with a few pool buffers and input messages
    # (small: 16 and 8) refuses at input, counted: no buffer (rx_nomem) or
    # tcpip_input's pool empty (rx_input_fail). A big build's are all
    # reassembly's.
    refused = 0
    if min(d.option("PBUF_POOL_SIZE"), d.option("MEMP_NUM_TCPIP_MSG_INPKT")) < 256:
        refused = sum(h.s1["driver"][k] - h.s0["driver"][k]
                      for k in ("rx_nomem", "rx_input_fail"))
    assert h.moved("ip_frag", "recv") >= (storm["sent"] - refused) * 9 // 10, rec
    assert h.moved("ip_frag", "drop") > 0, rec


def test_hostile_syn_flood(netns, lwipd_factory):
    """5,000 SYNs to the echo port from random addresses and ports of
    198.18.0.0/15, then a RST for each. lwIP answers what its listen
    backlog and PCB pool allow (recorded per version)."""
    d = lwipd_factory()
    h = Hostile(netns, d)
    flood = hostile(netns, "syn-flood", netns.tap, d.mac, d.ip, 7, SYN_FLOOD, HOSTILE_SEED,
                    FLOOD_RATE)
    assert flood["send_failed"] == 0, flood
    rec = h.survived(flood["sent"])
    record_hostile(d, "SYN flood", dict(flood, **rec))
    assert h.moved("tcp", "recv") >= flood["sent"] * 9 // 10, rec


def test_hostile_fuzz_every_layer(netns, lwipd_factory):
    """20,000 frames of scapy fuzz() over every layer lwIP parses: Ethernet,
    802.1Q, ARP, IPv4 (with options and fragment fields), ICMP, IGMP (lwIP
    joined a group), UDP, TCP (with options that lie), DHCP."""
    d = lwipd_factory("--igmp-join", IGMP_GROUP)
    h = Hostile(netns, d)
    fuzz = hostile(netns, "fuzz", netns.tap, d.mac, harness.HOST_IP, d.ip, FUZZ_FRAMES,
                   HOSTILE_SEED, FUZZ_RATE)
    # scapy cannot build a few fuzzed values (left out, counted).
    assert FUZZ_FRAMES - fuzz["sent"] == sum(fuzz["unbuildable"].values()) < 100 // SHARE, fuzz
    rec = h.survived(fuzz["sent"] - fuzz["send_failed"])
    record_hostile(d, "fuzz every layer", dict(fuzz, **rec))
    # lwIP parsed and judged them: bad checksums, lengths and protocols counted.
    bad = sum(h.moved(sec, k) for sec in ("ip", "tcp", "udp", "icmp", "igmp", "etharp")
              for k in ("chkerr", "lenerr", "drop", "proterr"))
    assert bad > FUZZ_FRAMES // 10, rec
    assert h.moved("igmp", "recv") > 0 and h.moved("etharp", "recv") + h.moved(
        "etharp", "drop") > 0, rec


def start_dnsmasq(netns, workdir):
    """dnsmasq on the TAP only, authoritative (it refuses at once the
    addresses the fuzzer offered, outside its range)."""
    return netns.popen(["dnsmasq", "--keep-in-foreground", "--no-daemon", "--port=0",
                        "--no-resolv", "--no-hosts", "--bind-interfaces",
                        "--interface=" + netns.tap, "--except-interface=lo",
                        "--dhcp-authoritative",
                        "--dhcp-range=198.18.0.100,198.18.0.149,255.255.255.0,1h",
                        "--dhcp-leasefile=" + os.path.join(workdir, "dnsmasq.leases"),
                        "--log-dhcp", "--pid-file=" + os.path.join(workdir, "dnsmasq.pid")],
                       stdout=subprocess.DEVNULL,
                       stderr=open(os.path.join(workdir, "dnsmasq.log"), "w"))


def test_hostile_dhcp_replies_to_the_dhcp_client(netns, workdir):
    """2,000 fuzzed DHCP replies (OFFER, ACK, NAK and nonsense; most with
    the xid of lwIP's latest request, so that they reach the client's
    state machine; lying option lengths, lease times of 0 and 2^32-1) to
    lwIP's DHCP client, in rounds: once an ACK has bound the client it is
    silent until its coarse timer (a minute) renews, so the link goes down
    and up between rounds (the client reboots: REQUEST again). Then a real
    server (dnsmasq) appears and the link goes down and up once more: lwIP
    must end with a lease from it and serve."""
    d = harness.Lwipd(netns, workdir, ip=harness.LWIP_IP + "/24")
    i = d.args.index("--ip")
    del d.args[i:i + 2]
    d.args.append("--dhcp")
    d.start()
    dnsmasq = None
    try:
        s0 = d.stats()
        rounds = []
        for n in range(DHCP_ROUNDS):
            if n:
                assert d.lwipctl("link", "down").returncode == 0
                assert d.lwipctl("link", "up").returncode == 0
            r = hostile(netns, "dhcp-fuzz", netns.tap, d.mac, DHCP_FRAMES // DHCP_ROUNDS,
                        HOSTILE_SEED + n, DHCP_RATE)
            if dhcp_option_length_asserts(d):
                outcome = expect_known_assert(d, "len", "dhcp_recv")
                record_hostile(d, "DHCP replies", dict(outcome, seed=HOSTILE_SEED + n,
                                                       dhcp=r))
                return
            assert d.alive()
            r["address_after"] = d.request({"cmd": "status"})["ip"]
            rounds.append(r)
        s1 = d.stats()
        dnsmasq = start_dnsmasq(netns, workdir)
        assert d.lwipctl("link", "down").returncode == 0
        assert d.lwipctl("link", "up").returncode == 0

        def leased():
            ip = d.request({"cmd": "status"})["ip"]
            return ip if ip.startswith("198.18.0.1") and 100 <= int(ip.split(".")[3]) <= 149 \
                else None

        d.ip = harness.check_safe(harness.wait_for(leased, 40 * SCALE, "a lease from dnsmasq"))
        check_serves(netns, d)
        clean, leaks = d.wait_leaks_clean(timeout=30 * SCALE)
        record_hostile(d, "DHCP replies", {
            "seed": HOSTILE_SEED, "rounds": rounds, "lease_after": d.ip,
            "lwip": counter_delta(s0, s1)})
        assert clean, leaks
        # lwIP's client took part: it answered offers with requests.
        assert sum(r["lwip_sent"].get("request", 0) for r in rounds) > 0, rounds
    finally:
        code = d.stop()
        if dnsmasq is not None:
            dnsmasq.send_signal(signal.SIGTERM)
            dnsmasq.wait(timeout=10)
    assert code == 0
