# SPDX-License-Identifier: MIT
"""Row 12: replacing the last out-of-order segment with a longer copy
overruns lwIP's receive window (lwIP bug #56397, commit 574bd6e5, 2.2.1).

lwIP's tcp_receive() (src/core/tcp_in.c) trims an out-of-order segment it
appends at the end of ->ooseq to the receive window. When the same
sequence number then arrives with more data, <= 2.2.0 replaces the trimmed
segment with a copy of the longer one, untrimmed: ->ooseq now holds data
past rcv_nxt + rcv_wnd. When the hole before it fills, the segment is
taken in order and "tcp_receive: ooseq tcplen > rcv_wnd" asserts (with
LWIP_NOASSERT rcv_wnd wraps). 2.2.1 leaves a trimmed last segment alone.

Trigger (_g_ooseq.py, a scapy peer): the echo (TCP 7) with the peer's
window at 0 stops taking data once its send buffer is full, so lwIP's
window shrinks to about 2400 bytes (W from R); then out of order A (R+100),
B (R+W-500, 1000 bytes: trimmed to 500), B again whole, then the hole
from R. Bad: the assert (crash report), or lwIP acknowledging past R+W.
Clean: lwIP's last ACK is exactly R+W (window 0)."""
from lwipd import testing as harness
from zoo.scenarios import _h_ooseq


def run(env):
    peer, evidence, crashed = _h_ooseq.run_peer(env)
    if crashed:
        return crashed
    bad = _h_ooseq.past_edge(env, peer, evidence)
    if bad:
        return bad
    past = peer["acked_past_edge"]
    if past < 0:
        raise harness.HarnessError("lwIP did not take the data up to its "
                                   "window's edge: %r" % peer)
    return env.outcome(False, "lwIP took data exactly up to its window's right "
                       "edge (%d bytes from rcv_nxt, then window %s); the longer "
                       "copy was not let past it" % (peer["window"], peer["last_window"]),
                       evidence)
