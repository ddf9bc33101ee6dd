# SPDX-License-Identifier: MIT
"""Row 31: lwIP's DHCP client refuses (2.1.2: asserts on) a reply whose
options begin in the second pbuf of its chain and carry the overload
option (lwIP bug #54805).

lwIP <= 2.1.2's dhcp_parse_reply() (src/core/ipv4/dhcp.c) walks its
options_idx forward across the pbufs before it parses, and then checks
"overload only in the options, not in file/sname" as options_idx ==
DHCP_OPTIONS_OFS: when the 240-byte fixed part of the message does not fit
the first pbuf, options_idx is relative to the second one and the check
fails on a valid option 52. LWIP_ERROR asserts (lwipd builds with asserts);
with LWIP_NOASSERT the reply is dropped and DHCP never binds. 2.1.3
(051fbea5) keeps the options' starting offset for the check.

Trigger: pool buffers of 256 bytes (zoo/opts/pool256: 214 bytes of the
DHCP message in the first) and a scripted server (_h_dhcp.py
--overload-file) whose OFFER and ACK carry option 52 = 1 (the file field
holds options: just the end option). Bad: lwIP stops on the assert (or
gets no lease). Clean: lwIP leases the address; the OFFER it took carried
option 52 and was longer than one pool buffer (from the capture)."""

from scapy.all import BOOTP, DHCP, Ether  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

WINDOW = 15.0


def _offers(env):
    """[(frame length, has option 52)] of the OFFERs in the capture as
    written so far."""
    out = []
    for _, raw in harness.read_pcap(env.d.pcap):
        pkt = Ether(raw)
        if DHCP not in pkt or pkt[BOOTP].op != 2:
            continue
        opts = [o for o in pkt[DHCP].options if isinstance(o, tuple)]
        if ("message-type", 2) in opts:
            out.append((len(raw), any(o[0] == "dhcp-option-overload" for o in opts)))
    return out


def _stopped(env):
    return env.exited() is not None or bool(env.crash_reports())


def run(env):
    srv, out = _h_net.dhcp_server(env, WINDOW + 30, "--overload-file")
    ip = None
    try:
        # the OFFER may come before lwipd says it is ready (and stop it)
        d = env.start(["--dhcp"], wait_ready=False)

        def leased_or_stopped():
            if _stopped(env):
                return "stopped"
            try:
                ip = d.request({"cmd": "status"})["ip"]
            except (OSError, EOFError, ValueError, harness.HarnessError):
                return "stopped" if _stopped(env) else None
            return ip if ip != "0.0.0.0" else None

        try:
            ip = harness.wait_for(leased_or_stopped, WINDOW, "a lease or a stop", 0.2)
        except TimeoutError:
            pass
        if ip == "stopped":
            ip = None
            try:
                harness.wait_for(lambda: env.crash_reports(), 2, "the crash report", 0.1)
            except TimeoutError:
                pass
    finally:
        seen = _h_net.dhcp_server_stop(srv, out)
    offers = _offers(env)
    evidence = {"server_log": seen, "offers_in_capture": offers, "lease": ip}
    if not any(m.get("answer") == "offer" for m in seen):
        raise RuntimeError("the server sent no OFFER: %r" % seen)
    reports = env.crash_reports()
    if reports:
        rep = reports[0]
        fns = [f.get("fn") for f in rep.get("stack", {}).get("frames", []) if f.get("fn")]
        evidence.update(exit_code=env.exited(), message=rep.get("message"), stack=fns[:12])
        return env.outcome(True, "lwIP stopped on %r taking an OFFER that spans pool buffers "
                           "with option 52" % rep.get("message"), evidence)
    if ip is None:
        return env.outcome(True, "no lease in %.0f s from a server that offered one (option 52, "
                           "reply longer than a pool buffer)" % WINDOW, evidence)
    harness.check_safe(ip)
    pool = env.ctl("version")["build"]["options"]["PBUF_POOL_BUFSIZE"]
    evidence["pbuf_pool_bufsize"] = pool
    if not offers or not offers[0][1]:
        raise RuntimeError("no OFFER with option 52 in the capture: %r" % offers)
    return env.outcome(False, "leased %s from OFFERs of %d bytes carrying option 52 (pool "
                       "buffers of %d bytes)" % (ip, offers[0][0], pool), evidence)
