# SPDX-License-Identifier: MIT
"""Row 19: one DHCP OFFER without a server identifier stops DISCOVER for
good (lwIP bug #52704).

lwIP <= 2.0.3's dhcp_recv() (src/core/ipv4/dhcp.c) sets
dhcp->request_timeout = 0 for every OFFER in SELECTING before
dhcp_handle_offer() looks at it; an OFFER without option 54 is then
ignored, and with the timer stopped dhcp_fine_tmr() never calls
dhcp_timeout(): no further DISCOVER, no address, until the link or the
application restarts DHCP. 2.1.0 (upstream 6c7e7153) stops the timer only
inside dhcp_handle_offer() once the server id is there.

Trigger: lwipd --dhcp against a scripted server (_h_dhcp.py in the
namespace) whose first OFFER lacks option 54 and which answers properly
afterwards. Evidence: lwIP's DISCOVERs in the capture after that OFFER
within WINDOW seconds, and whether lwIP got the lease. When it did not, a
control: the cable pulled and plugged restarts DHCP (dhcp_network_changed),
and the same server must then lease the address - the stall was the
OFFER's doing, not the server's.
"""
import json
import os
import time

from scapy.all import BOOTP, DHCP  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

WINDOW = 20.0


def _dhcp_frames(frames):
    """[(ts, way, message type, has a server id, xid)] of the DHCP
    messages in the capture."""
    out = []
    for ts, pkt, way in frames:
        if DHCP not in pkt:
            continue
        kind = [o[1] for o in pkt[DHCP].options
                if isinstance(o, tuple) and o[0] == "message-type"]
        ids = [o[1] for o in pkt[DHCP].options
               if isinstance(o, tuple) and o[0] == "server_id"]
        out.append((ts, way, kind[0] if kind else None, bool(ids),
                    pkt[BOOTP].xid))
    return out


def _link_down_ts(env):
    """The capture-clock time of the first link-down event, or infinity."""
    path = os.path.join(env.dir, "events.jsonl")
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("type") == "link" and ev.get("state") == "down":
                return ev["ts_ns"] / 1e9
    return float("inf")


def run(env):
    srv, out = _h_net.dhcp_server(env, WINDOW + 30, "--first-offer-without-server-id")
    try:
        d = env.start(["--dhcp"])
        t0 = time.monotonic()

        def leased():
            ip = d.request({"cmd": "status"})["ip"]
            return ip if ip != "0.0.0.0" else None

        try:
            ip = harness.wait_for(leased, WINDOW, "a DHCP lease",
                                  interval=0.2)
        except TimeoutError:
            ip = None
        waited = time.monotonic() - t0
        after_flap = None
        if ip is None:
            env.log("no lease: pull and plug the cable (control)")
            env.ctl("link", state="down")
            env.ctl("link", state="up")
            try:
                after_flap = harness.wait_for(leased, 10, "a lease after "
                                              "the link flap", interval=0.2)
            except TimeoutError:
                after_flap = "none"
    finally:
        seen = _h_net.dhcp_server_stop(srv, out)
    msgs = _dhcp_frames(_h_net.captured(env))
    t_flap = _link_down_ts(env)
    bad_offer = [m for m in msgs if m[1] == "rx" and m[2] == 2 and not m[3]]
    if not bad_offer:
        raise RuntimeError("no OFFER without a server id reached lwIP")
    t_bad = bad_offer[0][0]
    later = [round(m[0] - t_bad, 2) for m in msgs
             if m[1] == "tx" and m[2] == 1 and t_bad < m[0] < t_flap]
    evidence = {"server_log": seen, "discovers_after_bad_offer_s": later,
                "lease": ip, "waited_s": round(waited, 1),
                "dhcp_frames": len(msgs),
                "lease_after_link_flap": after_flap}
    if ip is None and after_flap == "none":
        raise RuntimeError("no lease even after a link flap: the server "
                           "or the setup is broken, not (only) the OFFER")
    if ip is None and not later:
        return env.outcome(True, "no DISCOVER in the %.0f s after an OFFER "
                           "without a server id, no lease (after a link "
                           "flap: %s)" % (waited, after_flap), evidence)
    if ip is None or not later:
        # Neither this bug nor its fix: DISCOVERs without a lease from a
        # server that answers them, or a lease without a new DISCOVER.
        raise RuntimeError("unexpected: lease %s, DISCOVERs after the bad "
                           "OFFER %r" % (ip, later))
    harness.check_safe(ip)
    return env.outcome(False, "DISCOVER again %.1f s after the OFFER without "
                       "a server id; leased %s" % (later[0], ip), evidence)
