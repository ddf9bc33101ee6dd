# SPDX-License-Identifier: MIT
"""A FIN 2^31 behind the SYN stops lwIP 2.1.x on "insane offset!" (found by
lwipd's frame fuzzer, tests/fuzz/fuzz_frame.c; not in bugzoo.md).

The peer sends a SYN with sequence number 0x800003e8 to the echo (TCP 7)
and then, acknowledging lwIP's SYN-ACK, a FIN with sequence number 0x3e9.
In lwIP 2.1.2 and 2.1.3 tcp_process() takes the ACK (SYN_RCVD to
ESTABLISHED) and tcp_receive() then computes the FIN's offset into the
receive window from a difference of 2^31: its assert "insane offset!"
(tcp_in.c) stops the stack. 2.0.x computes the same difference with a
signed overflow (UBSan reports it; without the sanitizer it goes on), and
2.2.0 checks the segment against the window first and drops it.

Evidence: the crash report (lwip-assert "insane offset!" with tcp_receive
on the stack), or lwipd still answering pings after the FIN.
"""
import json
import os

from lwipd import testing as harness

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "_g_halfspace.py")
ECHO = 7
SPORT = 40123


def _stopped(env):
    return env.exited() is not None or bool(env.crash_reports())


def run(env):
    d = env.start()
    # the host kernel knows nothing of the scapy peer's connection: keep its
    # RST (to lwIP's SYN-ACK) off the wire
    env.ns.run(["iptables", "-A", "OUTPUT", "-p", "tcp", "--sport", str(SPORT),
                "--tcp-flags", "RST", "RST", "-j", "DROP"])
    r = env.ns.run([harness.PYTHON, SCRIPT, env.ns.tap, d.mac, harness.check_safe(d.ip),
                    str(ECHO), str(SPORT)], timeout=60)
    peer = json.loads(r.stdout)
    if not peer["ok"]:
        raise harness.HarnessError("the scapy peer failed: %s" % peer["why"])
    evidence = {"peer": peer}
    try:
        harness.wait_for(lambda: _stopped(env), 2, "an assert's report", 0.1)
    except TimeoutError:
        pass
    if _stopped(env):
        harness.wait_for(lambda: env.crash_reports() or env.exited() is not None, 10, "report")
        reports = env.crash_reports()
        rep = reports[0] if reports else {}
        fns = [f.get("fn") for f in rep.get("stack", {}).get("frames", []) if f.get("fn")]
        evidence.update(exit_code=env.exited(), message=rep.get("message"), stack=fns[:12],
                        crash_reports=[x["_path"] for x in reports])
        where = " in tcp_receive" if "tcp_receive" in fns else ""
        return env.outcome(True, "lwIP stopped on %r%s" % (rep.get("message"), where),
                           evidence)
    p = harness.ping(env.ns, d.ip, count=3, interval=0.05)
    evidence["ping_after"] = p["received"]
    if p["received"] != 3:
        raise harness.HarnessError("lwipd alive but not answering: %r" % p)
    return env.outcome(False, "the FIN 2^31 behind was dropped; lwIP answers pings", evidence)
