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
import json
import os

import harness
from zoo.scenarios import _h_driver

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "_g_ooseq.py")
ECHO = 7
SPORT = 40412


def run(env):
    d = env.start()
    # the host kernel knows nothing of the scapy peer's connection: keep its
    # RST (to lwIP's SYN-ACK) off the wire
    env.ns.run(["iptables", "-A", "OUTPUT", "-p", "tcp", "--sport", str(SPORT),
                "--tcp-flags", "RST", "RST", "-j", "DROP"])
    r = env.ns.run([harness.PYTHON, SCRIPT, env.ns.tap, d.mac, harness.check_safe(d.ip),
                    str(ECHO), str(SPORT)], timeout=90, check=False)
    try:
        peer = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise harness.HarnessError("the scapy peer failed: %s %s" % (r.stdout, r.stderr[-2000:]))
    evidence = {"peer": peer}
    rep = _h_driver.crash_evidence(env, evidence)
    if rep:
        return env.outcome(True, "lwIP stopped on %r after a longer copy of the "
                           "trimmed last ooseq segment (window %s bytes)" %
                           (rep.get("message"), peer.get("window")), evidence)
    if rep is not None:
        return env.outcome(True, "lwipd exited with %s and no report" %
                           evidence["exit_code"], evidence)
    if not peer["ok"]:
        raise harness.HarnessError("the scapy peer failed: %s" % peer["why"])
    past = peer["acked_past_edge"]
    if past is None:
        raise harness.HarnessError("no ACK from lwIP after the hole was filled")
    if past > 0:
        return env.outcome(True, "lwIP acknowledged %d bytes past its window's "
                           "right edge" % past, evidence)
    if past < 0:
        raise harness.HarnessError("lwIP did not take the data up to its "
                                   "window's edge: %r" % peer)
    return env.outcome(False, "lwIP took data exactly up to its window's right "
                       "edge (%d bytes from rcv_nxt, then window %s); the longer "
                       "copy was not let past it" % (peer["window"], peer["last_window"]),
                       evidence)
