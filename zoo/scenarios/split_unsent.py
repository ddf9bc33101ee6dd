# SPDX-License-Identifier: MIT
"""Row 25: tcp_split_unsent_seg() frees the remainder pbuf twice when
tcp_create_segment() fails (lwIP bug #57377).

lwIP 2.1.0-2.1.2 (src/core/tcp_out.c): the persist timer splits the first
unsent segment when the peer's window is open but smaller than it;
tcp_create_segment() frees the remainder pbuf when it cannot get a
MEMP_TCP_SEG, and tcp_split_unsent_seg()'s `memerr:` frees it again:
pbuf_free() asserts "pbuf_free: p->ref > 0". 2.1.3 (b5e8ab6c) clears the
pointer after the failed call.

Trigger: a hand-made peer (scapy, _g_split.py) connects to the echo
offering a 2000-byte window (lwIP's tcp_write then makes segments of up to
half of it) and sends 1000 bytes; lwIP echoes them in one segment, which
the peer never acknowledges. Then `alloc fail 100% pool=TCP_SEG`, and the
peer shrinks its window to 200 bytes. At the retransmission timeout lwIP
moves the segment back to unsent; it no longer fits the window and nothing
is in flight, so the persist timer runs and its next tick splits the
segment, getting no segment for the remainder.
Bad: lwIP stops (assert, crash report). Clean: the rule failed the split's
allocation (acted >= 1) and lwipd lives; once the rule is cleared the next
persist slot splits the segment and lwIP sends the 200 bytes the window
allows (seen in the capture)."""
import json
import os

from lwipd import testing as harness
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_g_split.py")
ECHO = 7
SPORT = 40025
WINDOW = 200
NBYTES = 1000
RULE = "alloc fail 100% pool=TCP_SEG"


def _stopped(env):
    return env.exited() is not None or bool(env.crash_reports())


def _lwip_data(env):
    """Lengths of the data segments (not the 1-byte window probes) lwIP sent
    on the peer's connection, from the capture as written so far."""
    from scapy.all import TCP, Ether  # Debian python3-scapy

    out = []
    for _, raw in harness.read_pcap(env.d.pcap):
        pkt = Ether(raw)
        if TCP in pkt and pkt[TCP].sport == ECHO and pkt[TCP].dport == SPORT:
            n = len(bytes(pkt[TCP].payload))
            if n > 1:  # not a zero-window probe
                out.append(n)
    return out


def _peer(env, mode, *args):
    d = env.d
    r = env.ns.run([harness.PYTHON, SCRIPT, mode, env.ns.tap, d.mac, d.ip, str(ECHO), str(SPORT)]
                   + [str(a) for a in args], timeout=60)
    return json.loads(r.stdout)


def run(env):
    env.start()
    # the host kernel knows nothing of the scapy peer's connection: keep its
    # RSTs (to lwIP's SYN-ACK and segments) off the wire
    env.ns.run(["iptables", "-A", "OUTPUT", "-p", "tcp", "--sport", str(SPORT),
                "--tcp-flags", "RST", "RST", "-j", "DROP"])
    peer = _peer(env, "connect", NBYTES)
    if not peer["ok"]:
        raise harness.HarnessError("the scapy peer failed: %s" % peer["why"])
    harness.wait_for(lambda: env.stats()["apps"]["echo"]["tcp_bytes_out"] >= NBYTES, 5,
                     "the echo's reply queued")
    before_err = env.stats()["lwip"]["memp"]["TCP_SEG"]["err"]
    rid = env.ctl("fault", op="add", rule=RULE)["rule_id"]
    _peer(env, "window", peer["seq"], peer["ack"], WINDOW)
    env.log("%d bytes echoed, unacknowledged; the peer's window shrunk to %d; %s" %
            (NBYTES, WINDOW, RULE))

    def acted():
        if _stopped(env):
            return True
        try:
            rules = [x for x in env.ctl("fault", op="list")["rules"] if x["id"] == rid]
        except (OSError, EOFError, ValueError, harness.HarnessError):
            return _stopped(env)  # lwipd stopping under our request
        return rules and rules[0]["acted"] >= 1

    harness.wait_for(acted, 10, "the persist timer's split", 0.1)
    evidence = {"window": WINDOW, "queued": NBYTES, "rule": RULE}
    try:
        harness.wait_for(lambda: _stopped(env), 1, "an assert's report", 0.1)
    except TimeoutError:
        pass
    reports = env.crash_reports()
    if reports or env.exited() is not None:
        rep = reports[0] if reports else {}
        fns = [f.get("fn") for f in rep.get("stack", {}).get("frames", []) if f.get("fn")]
        evidence.update(exit_code=env.exited(), message=rep.get("message"), stack=fns[:12],
                        crash_reports=[x["_path"] for x in reports])
        where = " in tcp_split_unsent_seg" if "tcp_split_unsent_seg" in fns else ""
        return env.outcome(True, "lwIP stopped on %r%s after the split's TCP_SEG allocation "
                           "failed" % (rep.get("message"), where), evidence)
    st = env.stats()
    rule = [x for x in st["fault"]["rules"] if x["id"] == rid][0]
    evidence.update(acted=rule["acted"],
                    tcp_seg_err=st["lwip"]["memp"]["TCP_SEG"]["err"] - before_err)
    env.ctl("fault", op="clear")
    first = len(_lwip_data(env))  # the echo as first sent
    sent = []
    try:
        sent = harness.wait_for(lambda: _lwip_data(env)[first:] or None, 10,
                                "lwIP's split segment", 0.5)
    except TimeoutError:
        pass
    evidence["lwip_data_segments_after_clear"] = sent
    if not sent or sent[0] > WINDOW:
        raise harness.HarnessError("no split after the rule was cleared: %r" % sent)
    return env.outcome(False, "the split's TCP_SEG allocation failed %d time(s) (memp err +%d), "
                       "lwIP went on; cleared, it split and sent %d bytes" %
                       (rule["acted"], evidence["tcp_seg_err"], sent[0]), evidence)
