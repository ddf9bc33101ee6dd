# SPDX-License-Identifier: MIT
"""Row 18: TCP retransmission stops after the link was down longer than
the RTO (lwIP bug #54139) - rejected: lwIP's own tcp_slowtmr() masks it.

The mechanism is real in lwIP <= 2.0.3: when the RTO fires while the link
is down, tcp_slowtmr() calls tcp_rexmit_rto() (src/core/tcp_out.c), which
moves every unacked segment to the head of `unsent` and calls tcp_output();
ip4_route() finds no netif with its link up, tcp_output() returns ERR_RTE
and nothing goes back to `unacked`; tcp_slowtmr() retransmits only `if
(pcb->unacked != NULL && pcb->rtime >= pcb->rto)`, so the RTO never fires
again (nor does nrtx grow towards TCP_MAXRTX). 2.1.0 (upstream 824ebbe0)
also fires it when `unacked` is empty and `unsent` is not.

But the same tcp_slowtmr() (src/core/tcp.c) polls every active pcb every
`pollinterval` ticks - every 500 ms tick when no poll callback is set
(pollinterval 0) - and calls tcp_output() itself whenever the poll returns
ERR_OK (TCP_EVENT_POLL gives ERR_OK without a callback). The first tick
after the link is back sends `unsent`, starting with the retransmission
from snd_una. The stream stalls for good only behind a poll callback that
returns something other than ERR_OK (e.g. one that passes tcp_write()'s
ERR_MEM on a full send buffer through); lwipd's apps (echo/chargen,
iperf3, lwiperf, netconn's poll_tcp) all return ERR_OK.

This scenario shows that: the host reads lwIP's chargen (TCP 19), the cable
is pulled for DOWN_S (longer than the RTO) during the transfer and plugged
again; "bad" would be no TCP data from lwIP in the AFTER_S after link up.
Measured, 2.0.3 and 2.1.3 alike resume at the first slow-timer tick
(0.5-0.7 s), 2.0.3 with a retransmission from snd_una.
"""
import json
import os
import subprocess
import time

from scapy.all import TCP  # Debian python3-scapy

import harness
from zoo.scenarios import _h_net

PORT = 19
DOWN_S = 4.0
AFTER_S = 20.0
BULK_BYTES = 4 * 1024 * 1024


def _chargen_out(env):
    return env.stats()["apps"]["chargen"]["tcp_bytes_out"]


def _tcp_xmit(env):
    return env.stats()["lwip"]["tcp"]["xmit"]


def _link_edges(env):
    """Capture-clock times of the link-down and the last link-up event."""
    down = up = None
    with open(os.path.join(env.dir, "events.jsonl")) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("type") == "link" and ev.get("state") == "up":
                up = ev["ts_ns"] / 1e9
            if ev.get("type") == "link" and ev.get("state") == "down":
                down = ev["ts_ns"] / 1e9
    return down, up


def _acks_and_data(frames, t_down, t_up):
    """(the host's last ACK lwIP saw before the cable went out, the
    sequence number of lwIP's first data segment after it came back)."""
    last_ack, first_seq = None, None
    for ts, pkt, way in frames:
        if TCP not in pkt or PORT not in (pkt[TCP].sport, pkt[TCP].dport):
            continue
        if way == "rx" and ts < t_down:
            last_ack = pkt[TCP].ack
        if (way == "tx" and ts > t_up and first_seq is None and
                len(pkt[TCP].payload) > 0):
            first_seq = pkt[TCP].seq
    return last_ack, first_seq


def run(env):
    d = env.start()
    sink = env.ns.popen([harness.PYTHON,
                         os.path.join(harness.HELPERS, "nettools.py"),
                         "tcp-sink", harness.check_safe(d.ip), str(PORT),
                         str(int(DOWN_S + AFTER_S + 30))],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        text=True)
    try:
        harness.wait_for(lambda: _chargen_out(env) >= BULK_BYTES, 20,
                         "chargen to send %d bytes" % BULK_BYTES)
        env.log("bulk flowing: cable out for %.0f s" % DOWN_S)
        env.ctl("link", state="down")
        at_down = _chargen_out(env)
        time.sleep(DOWN_S)  # a hold, not a wait: the RTO fires meanwhile
        at_up = _chargen_out(env)
        xmit_up = _tcp_xmit(env)
        env.ctl("link", state="up")
        t_up = time.monotonic()
        env.log("cable back: waiting up to %.0f s for TCP" % AFTER_S)
        try:
            harness.wait_for(lambda: _tcp_xmit(env) > xmit_up, AFTER_S,
                             "lwIP to send TCP again", interval=0.1)
            resumed_s = time.monotonic() - t_up
            # Let the stream run a little so that it shows in the capture.
            harness.wait_for(lambda: _chargen_out(env) > at_up + 65536, 5,
                             "chargen to write again", interval=0.1)
        except TimeoutError:
            resumed_s = None
        end_out = _chargen_out(env)
        xmit_end = _tcp_xmit(env)
    finally:
        harness.interrupt(sink)
    t_down, t_link = _link_edges(env)
    frames = _h_net.captured(env)
    after = [ts - t_link for ts, pkt, way in frames
             if way == "tx" and TCP in pkt and pkt[TCP].sport == PORT and
             len(pkt[TCP].payload) > 0 and ts > t_link]
    last_ack, first_seq = _acks_and_data(frames, t_down, t_link)
    evidence = {"down_s": DOWN_S, "watched_s": AFTER_S,
                "data_segments_after_link_up": len(after),
                "first_after_link_up_s": round(min(after), 3) if after
                else None,
                "tcp_xmit_after_link_up": xmit_end - xmit_up,
                "chargen_queued_while_down": at_up - at_down,
                "chargen_written_after_up": end_out - at_up,
                "resumed_after_s": round(resumed_s, 2) if resumed_s
                else None,
                "last_ack_seen_before_down": last_ack,
                "first_data_seq_after_up": first_seq,
                "first_is_retransmission_from_snd_una": first_seq == last_ack}
    if not after:
        return env.outcome(True, "no TCP data from lwIP in the %.0f s after "
                           "the link came back (%.0f s down)" %
                           (AFTER_S, DOWN_S), evidence)
    return env.outcome(False, "the stream resumed %.2f s after the link "
                       "came back (%d data segments)" %
                       (min(after), len(after)), evidence)
