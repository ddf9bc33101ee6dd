# SPDX-License-Identifier: MIT
"""An out-of-order segment that starts inside lwIP's receive window and
ends past it is queued whole; when the hole before it fills, lwIP asserts
"tcp_receive: ooseq tcplen > rcv_wnd" (found by the zoo while working on
row 12; not in bugzoo.md; unfixed in 2.2.1 and master 3d896ba).

tcp_receive() (src/core/tcp_in.c) accepts a segment whose first byte is in
the window; an in-order one is trimmed to the window, and so is one
appended after other out-of-order segments (the row 12 path), but the
first segment put on an empty ->ooseq (and one put before the others) is
copied as it is. Taking it in order later subtracts its whole length from
rcv_wnd: the assert, or with LWIP_NOASSERT a wrapped rcv_wnd. Any peer can
send that segment: no misbehaviour is needed on lwIP's side but a window
that does not slide (an application that stops reading).

Trigger: _g_ooseq.py --first: lwIP's window shrunk to about 2400 bytes as
for row 12, then one segment of 1000 bytes starting 500 bytes before the
right edge, then the hole in order. Bad: the assert, or lwIP
acknowledging past the edge. Clean (the mitigation TCP_QUEUE_OOSEQ 0: lwIP
drops out-of-order segments): no report, nothing acknowledged past the
edge."""
from zoo.scenarios import _h_ooseq


def run(env):
    peer, evidence, crashed = _h_ooseq.run_peer(env, "--first")
    if crashed:
        return crashed
    bad = _h_ooseq.past_edge(env, peer, evidence)
    if bad:
        return bad
    past = peer["acked_past_edge"]
    return env.outcome(False, "lwIP acknowledged up to %d bytes before its "
                       "window's right edge, no report" % -past, evidence)
