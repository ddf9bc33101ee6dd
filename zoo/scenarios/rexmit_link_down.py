# SPDX-License-Identifier: MIT
"""Row 18: with the link down, lwIP's retransmission timer stops, so a
connection is never given up (lwIP bug #54139, fixed by 824ebbe0 in 2.1.0,
"tcp: fix RTO timer not working if link is down").

lwIP <= 2.0.3: when the RTO fires while the link is down, tcp_slowtmr()
(src/core/tcp.c) calls tcp_rexmit_rto(), which moves every unacked segment
to the head of `unsent` and calls tcp_output(); ip4_route() finds no netif
with its link up, tcp_output() fails with ERR_RTE, and nothing goes back
to `unacked`. tcp_slowtmr() fires the RTO only `if (pcb->unacked != NULL
&& pcb->rtime >= pcb->rto)`: never again. nrtx stops growing, so the
connection is never aborted after TCP_MAXRTX retransmissions, and its pcb,
segments and pbufs stay for as long as the cable is out. 2.1.0 also fires
the RTO when `unacked` is empty and `unsent` is not, and backs off, so
lwIP gives up after TCP_MAXRTX timeouts, link or no link (what upstream's
unit test test_tcp_rto_timeout_link_down checks: one transmission, then
the error callback).

(The retransmission itself after link up is not what breaks: tcp_slowtmr()
polls every active pcb and calls tcp_output() when the poll returns
ERR_OK, so `unsent` goes out at the first tick after the cable is back, on
both versions. An earlier version of this entry looked there and found
nothing.)

Trigger: both variants built with TCP_MAXRTX 3 (zoo/opts/maxrtx3), so the
fixed lwIP gives up within about half a minute instead of many minutes.
The host reads lwIP's chargen (TCP 19); with data in flight the cable is
pulled and stays out for WINDOW_S. Evidence: chargen's counters (a
connection lwIP aborts ends in its error callback: errors +1, active 0)
and lwIP's TCP pcbs by state from `leaks`.
"""
import subprocess
import time

from lwipd import testing as harness

PORT = 19
WINDOW_S = 60.0
BULK_BYTES = 1024 * 1024


def _chargen(env):
    return env.stats()["apps"]["chargen"]


def run(env):
    d = env.start()
    sink = env.ns.popen([harness.PYTHON, harness.helper_path("nettools.py"),
                         "tcp-sink", harness.check_safe(d.ip), str(PORT),
                         str(int(WINDOW_S + 30))],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        harness.wait_for(lambda: _chargen(env)["tcp_bytes_out"] >= BULK_BYTES, 20,
                         "chargen to send %d bytes" % BULK_BYTES)
        before = _chargen(env)
        env.log("data in flight: cable out for up to %.0f s" % WINDOW_S)
        env.ctl("link", state="down")
        t_down = time.monotonic()
        try:
            harness.wait_for(lambda: _chargen(env)["tcp_active"] == 0, WINDOW_S,
                             "lwIP to give the connection up", interval=0.5)
            gave_up = round(time.monotonic() - t_down, 1)
        except TimeoutError:
            gave_up = False
        after = _chargen(env)
        tcp = env.ctl("leaks").get("tcp", {})
        env.ctl("link", state="up")
    finally:
        harness.interrupt(sink)
    evidence = {"window_s": WINDOW_S, "chargen_before": before, "chargen_after": after,
                "tcp_pcbs_at_the_end": tcp, "given_up_after_s": gave_up or None}
    if gave_up:
        return env.outcome(False, "lwIP aborted the connection %.0f s after the pull "
                           "(chargen errors %d -> %d)" % (gave_up, before["errors"],
                                                          after["errors"]), evidence)
    return env.outcome(True, "after %.0f s with the cable out the connection is still "
                       "there (pcbs %s): the RTO stopped firing" % (
                           WINDOW_S, tcp.get("states")), evidence)
