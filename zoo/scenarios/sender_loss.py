# SPDX-License-Identifier: MIT
"""lwIP as the TCP sender under 5 % loss of its own frames: the host reads
lwIP's chargen (TCP 19, raw API, no iperf3 code) for SECONDS while a fault
rule drops 5 % of lwIP's TCP frames (tx: dropped frames are not in the
capture, their retransmissions are).

What the captures show (issue 18 item 7): Linux answers each segment after
a hole with a duplicate ACK carrying SACK blocks and a window a little
larger than the one before (its receive window grows with every segment,
also an out-of-order one). lwIP counts a duplicate ACK only when the window
is unchanged (tcp_receive, clause 3; 2.1.x also resets its count on such an
ACK), so it never reaches three and does not retransmit fast; it reads no
SACK blocks in any release. Each loss waits for the retransmission timeout:
3 slow-timer ticks (1.5 s with TCP_TMR_INTERVAL 250) for a sub-millisecond
RTT, because lwIP's integer RTT variance cannot decay below 3 ticks; then
go-back-N from the hole with cwnd one segment. About 20 segments go out
between stalls: some 0.2 Mbit/s where no loss gives 2 Gbit/s.

Bad: the typical loss costs a second: the median silence of lwIP's data
(gaps of GAP s or more: each is a wait for a timeout) is STALL s or more.
Clean: it is shorter. Not the share of time stalled: the first timeout is
3 s with any tick length (lwIP's initial RTO) and the estimate converges
by one RTT sample per flight, so a short run with a fast tick still shows
a long stall or two at the start. Evidence either way: the
silences, the host's duplicate ACKs and how many kept their window, lwIP's
own count of fast retransmissions (tcpretranssegs)."""
from lwipd import testing as harness

SECONDS = 8
STALL = 1.0
GAP = 0.05
LOSS = ["--fault", 'tx drop 5% "tcp"', "--seed", "7", "--pcap-snaplen", "96"]


def lwip_data_flow(segs, port):
    """(lwIP's data segments, the host's pure ACKs) on the connection from
    the host's PORT, in capture order."""
    data = [s for s in segs if s["host_port"] == port and s["from_lwip"] and s["len"] > 0]
    acks = [s for s in segs if s["host_port"] == port and not s["from_lwip"]
            and s["len"] <= 0 and not s["flags"] & 0x07]
    return data, acks


def dup_acks(acks):
    """(duplicate ACKs, those with the window of the ACK before them): what
    Linux sent, and what lwIP would count."""
    dup = same = 0
    for a, b in zip(acks, acks[1:]):
        if b["ack"] == a["ack"]:
            dup += 1
            same += b["win"] == a["win"]
    return dup, same


def run(env):
    d = env.start(LOSS)
    r = env.ns.helper("nettools.py", "tcp-sink", d.ip, 19, SECONDS, timeout=SECONDS + 60)
    st = env.stats()
    rule = st["fault"]["rules"][0]
    if rule["acted"] <= 0:
        raise harness.HarnessError("the loss did not happen: %r" % rule)
    segs = harness.tcp_segments(harness.read_pcap(d.pcap), d.ip)
    ports = {s["host_port"] for s in segs if s["from_lwip"] and s["len"] > 0
             and s["sport"] == 19}
    if len(ports) != 1:
        raise harness.HarnessError("expected one chargen connection, saw %r" % ports)
    data, acks = lwip_data_flow(segs, ports.pop())
    if len(data) < 10:
        raise harness.HarnessError("lwIP sent only %d data segments" % len(data))
    gaps = [b["ts"] - a["ts"] for a, b in zip(data, data[1:])]
    silences = sorted(g for g in gaps if g >= GAP)
    if not silences:
        raise harness.HarnessError("no silence in lwIP's data: did a loss happen?")
    median = silences[len(silences) // 2]
    stalls = [round(g, 2) for g in gaps if g >= STALL]
    span = data[-1]["ts"] - data[0]["ts"]
    dup, same = dup_acks(acks)
    evidence = {
        "received": r["received"],
        "mbit_s": round(r["received"] * 8 / SECONDS / 1e6, 3),
        "data_segments": len(data),
        "span_s": round(span, 2),
        "stalls_s": stalls,
        "stalled_s": round(sum(stalls), 2),
        "silences": len(silences),
        "median_silence_s": round(median, 3),
        "host_dup_acks": dup,
        "host_dup_acks_same_window": same,
        "host_dup_acks_with_sack": sum(1 for a, b in zip(acks, acks[1:])
                                       if b["ack"] == a["ack"]
                                       and harness.TCP_SACK in b["options"]),
        "lwip_fast_retransmissions": st["lwip"]["mib2"]["tcpretranssegs"],
        "dropped": rule["acted"],
        "matched": rule["matched"],
    }
    bad = median >= STALL
    summary = ("%.2f Mbit/s: %d of %d dup ACKs kept their window, %d fast "
               "retransmissions; %d silences, median %.2f s; %.1f of %.1f s in "
               "stalls >= %.1f s" % (
                   evidence["mbit_s"], same, dup, evidence["lwip_fast_retransmissions"],
                   len(silences), median, sum(stalls), span, STALL))
    return env.outcome(bad, summary, evidence)
