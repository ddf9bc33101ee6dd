# SPDX-License-Identifier: MIT
"""A DHCP reply whose lease-time option (51) is not 4 bytes long stops
lwIP on an assert: LWIP_ERROR on network input (found by the hostile-
traffic tests, tests/integration/test_robustness.py, not in bugzoo.md).

lwIP <= 2.1.2's dhcp_parse_reply() (src/core/ipv4/dhcp.c) checks each
option's length with LWIP_ERROR("len == 4", ...), and LWIP_ERROR calls
LWIP_PLATFORM_ERROR, which asserts unless LWIP_NOASSERT is defined: with
asserts on (a debug build, lwipd's default) one datagram from anybody on
the link stops the stack. 2.1.3 checks the same lengths with
LWIP_DHCP_INPUT_ERROR, which only drops the reply.

Trigger: lwipd --dhcp against the scripted server (_h_dhcp.py), whose
first OFFER carries option 51 with length 2 and which answers properly
afterwards. Evidence: the crash report (an lwip-assert "len == 4" with
dhcp_recv on the stack: dhcp_parse_reply is inlined into it), or, when
lwIP survives, the lease it gets
from the next, well-formed OFFER.
"""
from lwipd import testing as harness
from zoo.scenarios import _h_net

WINDOW = 20.0


def run(env):
    srv, out = _h_net.dhcp_server(env, WINDOW + 10, "--first-offer-bad-lease-length")
    try:
        # Not waiting for ready: the OFFER may come (and stop lwIP) first.
        d = env.start(["--dhcp"], wait_ready=False)

        def settled():
            if env.exited() is not None or env.crash_reports():
                return "stopped"
            try:
                ip = d.request({"cmd": "status"})["ip"]
            except (OSError, EOFError, ValueError):
                return None  # not listening yet
            return ip if ip != "0.0.0.0" else None

        try:
            got = harness.wait_for(settled, WINDOW, "a lease or a stop", interval=0.2)
        except TimeoutError:
            got = None
    finally:
        seen = _h_net.dhcp_server_stop(srv, out)
    if not [m for m in seen if m.get("answer") == "offer-lease-time-2-bytes"]:
        raise RuntimeError("the OFFER with a 2-byte lease time was never sent")
    evidence = {"server_log": seen[:10], "result": got}
    if got == "stopped":
        harness.wait_for(lambda: env.crash_reports() or env.exited() is not None, 10,
                         "the report")
        reports = env.crash_reports()
        evidence["exit_code"] = env.exited()
        if reports:
            rep = reports[0]
            fns = [f.get("fn") for f in rep.get("stack", {}).get("frames", []) if f.get("fn")]
            evidence.update(kind=rep.get("kind"), message=rep.get("message"), stack=fns[:12],
                            crash_report=rep["_path"])
            where = [fn for fn in fns if fn in ("dhcp_parse_reply", "dhcp_recv")]
            return env.outcome(True, "lwIP stopped on %r in %s" % (
                rep.get("message"), where[0] if where else ", ".join(fns[:4])), evidence)
        return env.outcome(True, "lwipd exited with %s and no report" % env.exited(), evidence)
    if got is None:
        raise RuntimeError("neither a lease nor a stop in %.0f s" % WINDOW)
    harness.check_safe(got)
    return env.outcome(False, "the bad OFFER dropped; leased %s from the next one" % got,
                       evidence)
