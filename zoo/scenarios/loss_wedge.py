# SPDX-License-Identifier: MIT
"""TCP receive "wedge" under 5 % loss: 10 MiB through lwipd's echo service
with 5 % of the host's TCP frames dropped before lwIP sees them (the capture
is taken before the fault, so a dropped frame is still in it).

Helper F's explanation (the notes of issue 13; tests/integration/
test_faults.py echo_under_loss): lwIP 2.0.x sends no SACK (SACK output came
with 2.1.0, upstream b1a3c37c). Against a receiver without SACK, Linux
recovers a lost retransmission only by its retransmission timeout, whose
backoff is reset only by a valid RTT sample (none without timestamps or
SACK), while lwIP's tcp_slowtmr drops its out-of-order queue during the
long silence (TCP_OOSEQ_TIMEOUT); the transfer creeps in stalls of 0.8,
1.7, 3.3, 6.6, 13, 26, 53 s.

Bad: the echo has not finished within BOUND s, or the host's data shows a
chain of CHAIN stalls each ended by a retransmission of lwIP's ACK point
and each at least 1.8 times the one before (the timeout backing off).
Clean: the echo finishes within BOUND with the data intact and no such
chain. Either way the capture says whether lwIP offered and sent SACK."""
import subprocess
import time

from lwipd import testing as harness

NBYTES = 10 << 20
BOUND = 60
CHAIN = 3
LOSS = ["--fault", 'rx drop 5% "tcp"', "--pcap-snaplen", "96"]


def backoff_chain(stalls, factor=1.8):
    """The longest run of consecutive stalls, each ended by a retransmission
    of lwIP's ACK point and each at least FACTOR times the one before: the
    retransmission timeout backing off. Returns the gaps (s)."""
    best, run = [], []
    for gap, seq, ack in stalls:
        if seq != ack:
            run = []
            continue
        if run and gap >= factor * run[-1]:
            run.append(gap)
        else:
            run = [gap]
        if len(run) > len(best):
            best = list(run)
    return best


def run(env):
    d = env.start(LOSS)
    t0 = time.monotonic()
    try:
        r = env.ns.helper("nettools.py", "tcp-echo", d.ip, 7, NBYTES,
                          timeout=BOUND)
    except subprocess.TimeoutExpired:
        r = None
        env.ns.run(["ss", "-K", "dst", d.ip], check=False)  # lwIP frees
    secs = time.monotonic() - t0
    env.log("echo %s after %.1f s" % ("done" if r else "NOT done", secs))
    if r is not None and not (r["match"] and r["received"] == NBYTES):
        raise harness.HarnessError("the echo came back wrong: %r" % r)
    rule = env.stats()["fault"]["rules"][0]
    if rule["acted"] <= 0.03 * rule["matched"]:
        raise harness.HarnessError("the loss did not happen: %r" % rule)
    segs = harness.tcp_segments(harness.read_pcap(d.pcap), d.ip)
    from_lwip = [s for s in segs if s["from_lwip"]]
    synacks = [s for s in from_lwip if s["flags"] & 0x12 == 0x12]
    if not synacks:
        raise harness.HarnessError("no SYN-ACK from lwIP in the capture")
    stalls = {}
    chain = []
    for port in sorted({s["host_port"] for s in segs}):
        st = harness.host_data_stalls(segs, port)
        stalls[port] = [round(g, 2) for g, _, _ in st]
        c = backoff_chain(st)
        if len(c) > len(chain):
            chain = c
    evidence = {
        "echo_done": r is not None,
        "seconds": round(secs, 1),
        "sack_permitted": all(harness.TCP_SACK_PERM in s["options"]
                              for s in synacks),
        "segments_with_sack": sum(harness.TCP_SACK in s["options"]
                                  for s in from_lwip),
        "host_data_stalls": stalls,
        "backoff_chain": [round(g, 2) for g in chain],
        "dropped": rule["acted"],
        "matched": rule["matched"],
    }
    chained = len(chain) >= CHAIN
    sack = "SACK" if evidence["sack_permitted"] else "no SACK"
    if r is None or chained:
        return env.outcome(True, "%s: echo %s in %d s; stalls backing off %s "
                           "s" % (sack, "wedged" if r is None else "done",
                                  secs, evidence["backoff_chain"]), evidence)
    return env.outcome(False, "%s: 10 MiB echoed in %.1f s under 5 %% loss, "
                       "longest backoff chain %s s" % (
                           sack, secs, evidence["backoff_chain"]), evidence)
