# SPDX-License-Identifier: MIT
"""Shared by the out-of-order segment scenarios (tcp_ooseq_window: row
12; tcp_ooseq_first: a finding of the zoo): run the scapy peer
_g_ooseq.py against lwIP's echo and read what came of it."""
import json
import os

from lwipd import testing as harness
from zoo.scenarios import _h_driver

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "_g_ooseq.py")
ECHO = 7
SPORT = 40412


def run_peer(env, *flags):
    """Start lwipd, run the peer (with FLAGS); return (peer's JSON,
    evidence, crash outcome or None)."""
    d = env.start()
    # the host kernel knows nothing of the scapy peer's connection: keep its
    # RST (to lwIP's SYN-ACK) off the wire
    env.ns.run(["iptables", "-A", "OUTPUT", "-p", "tcp", "--sport", str(SPORT),
                "--tcp-flags", "RST", "RST", "-j", "DROP"])
    r = env.ns.run([harness.PYTHON, SCRIPT, env.ns.tap, d.mac, harness.check_safe(d.ip),
                    str(ECHO), str(SPORT)] + list(flags), timeout=90, check=False)
    try:
        peer = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise harness.HarnessError("the scapy peer failed: %s %s" % (r.stdout, r.stderr[-2000:]))
    evidence = {"peer": peer}
    rep = _h_driver.crash_evidence(env, evidence)
    if rep:
        return peer, evidence, env.outcome(
            True, "lwIP stopped on %r when the hole before the segment past its "
            "window filled (window %s bytes)" % (rep.get("message"), peer.get("window")),
            evidence)
    if rep is not None:
        return peer, evidence, env.outcome(True, "lwipd exited with %s and no report" %
                                           evidence["exit_code"], evidence)
    if not peer["ok"]:
        raise harness.HarnessError("the scapy peer failed: %s" % peer["why"])
    if peer["acked_past_edge"] is None:
        raise harness.HarnessError("no ACK from lwIP after the hole was filled")
    return peer, evidence, None


def past_edge(env, peer, evidence):
    """The affected outcome when lwIP acknowledged bytes past its window's
    right edge (what both ooseq scenarios look for first), else None."""
    past = peer["acked_past_edge"]
    if past > 0:
        return env.outcome(True, "lwIP acknowledged %d bytes past its window's "
                           "right edge" % past, evidence)
    return None
