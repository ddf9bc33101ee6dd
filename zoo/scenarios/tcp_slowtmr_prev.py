# SPDX-License-Identifier: MIT
"""Row 24: tcp_slowtmr() restarts its walk of the active list after a
callback changed it, and then removes a pcb through a stale `prev`
(lwIP commit bc25863d, 2.1.1).

After a poll or error callback changes tcp_active_pcbs, lwIP <= 2.1.0's
tcp_slowtmr() (src/core/tcp.c) starts over from the head with prev = NULL
and skips the pcbs it already processed in this tick without moving prev
along. When the first pcb it has not processed yet must be removed in
the same tick, it is unlinked as if it were the head: the assert
"tcp_slowtmr: first pcb == tcp_active_pcbs" (without asserts the head is
replaced and the pcbs before it are lost from the list). 2.1.1 sets prev
on the skip.

Trigger (_g_slowtmr.py): lwipd's echo aborts a connection from its poll
callback after --echo-idle-s 20 (the 20th 1 s poll, the 40th slow-timer
tick after the SYN), and lwIP drops a pcb stuck in SYN_RCVD on the 41st
tick after its SYN (TCP_SYN_RCVD_TIMEOUT 20 s). So a bare SYN (X), then
half a second (one tick) later an idle connection (E, put in front of X
in the list), then another connection in front of both: in one tick E's
poll aborts E, the walk restarts, and X, the first pcb not processed yet,
is removed with prev = NULL. PAIRS such pairs, 1.3 s apart. Bad: the
assert. Clean: no report, every E aborted (its RST in the capture) within
one tick of its X's timeout (20.5 s after X's SYN)."""
import json
import os
import subprocess

from scapy.all import IP, TCP, Ether  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_driver

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "_g_slowtmr.py")
ECHO = 7
PAIRS = 4
HOLD_S = 24
SPORT0 = 42000


def _rst_times(env, ports):
    """{host port: time of lwIP's first RST to it} from the capture."""
    out = {}
    env.ctl("capture", op="stop")
    for ts, raw in harness.read_pcap(env.d.pcap):
        pkt = Ether(raw)
        if IP in pkt and TCP in pkt and pkt[IP].src == env.d.ip and \
                pkt[TCP].flags & 0x04 and pkt[TCP].dport in ports:
            out.setdefault(pkt[TCP].dport, ts)
    return out


def run(env):
    d = env.start(["--echo-idle-s", "20"])
    # the host kernel knows nothing of the bare SYNs: keep its RSTs (to
    # lwIP's SYN-ACKs) off the wire, or lwIP drops the SYN_RCVD pcbs
    env.ns.run(["iptables", "-A", "OUTPUT", "-p", "tcp", "--sport",
                "%d:%d" % (SPORT0, SPORT0 + PAIRS - 1), "--tcp-flags", "RST", "RST",
                "-j", "DROP"])
    peer = env.ns.popen([harness.PYTHON, SCRIPT, env.ns.tap, d.mac, harness.check_safe(d.ip),
                         str(ECHO), str(PAIRS), str(HOLD_S)], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    try:
        harness.wait_for(lambda: _h_driver.stopped(env) or peer.poll() is not None,
                         HOLD_S + PAIRS * 2 + 30, "the peer's end or a report", interval=0.2)
    finally:
        if peer.poll() is None:
            peer.kill()
        out, err = peer.communicate(timeout=10)
    evidence = {}
    rep = _h_driver.crash_evidence(env, evidence)
    if rep:
        return env.outcome(True, "lwIP stopped on %r in %s" % (
            rep.get("message"), (evidence["stack"] or ["?"])[0:3]), evidence)
    if rep is not None:
        return env.outcome(True, "lwipd exited with %s and no report" %
                           evidence["exit_code"], evidence)
    try:
        sched = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise harness.HarnessError("the peer failed: %s %s" % (out, err[-2000:]))
    rst = _rst_times(env, set(sched["conn_sports"]))
    same_tick = []
    for syn, port in zip(sched["syn_sent"], sched["conn_sports"]):
        if port in rst:
            same_tick.append(round(rst[port] - (syn + 20.5), 2))
    evidence.update(schedule=sched, abort_minus_synrcvd_timeout_s=same_tick)
    if len(same_tick) < PAIRS or not any(abs(x) <= 0.5 for x in same_tick):
        raise harness.HarnessError("the aborts did not meet the SYN_RCVD timeouts: "
                                   "%r" % same_tick)
    return env.outcome(False, "%d echo aborts from the poll callback within a tick of a "
                       "SYN_RCVD pcb's timeout (%s s off), no report" %
                       (len(same_tick), same_tick), evidence)
