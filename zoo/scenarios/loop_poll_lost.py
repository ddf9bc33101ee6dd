# SPDX-License-Identifier: MIT
"""Row 15: netif_loop_output() forgets the poll it could not schedule.

With LWIP_NETIF_LOOPBACK and NO_SYS 0 (LWIP_NETIF_LOOPBACK_MULTITHREADING),
a datagram lwIP sends to its own address is copied into a PBUF_RAM pbuf and
queued on the netif; when the queue was empty, netif_loop_output() asks the
tcpip thread to run netif_poll() with tcpip_try_callback(), which takes a
message from MEMP_TCPIP_MSG_API. lwIP <= 2.1.2 (src/core/netif.c) ignores a
failure there: the queue is no longer empty, so no later datagram schedules
a poll either, and everything looped from then on stays queued for good
(heap held, loopback dead). 2.1.3 (b1f8ce87) remembers the failure in
netif->reschedule_poll and schedules the poll with the next datagram.

Trigger (zoo/opts/loopback): ICMP echo requests written into the TAP with
lwIP's own address as their source: lwIP answers to itself, ip4_output_if()
sends the reply through netif_loop_output(), and netif_poll() later feeds it
back to icmp_input(). One such request is processed under `alloc fail 100%
pool=TCPIP_MSG_API` filtered to these frames, so the one poll it schedules
fails; the rule is removed and BURST more follow. Evidence: lwIP's icmp recv
counter (each looped reply comes back in as an ICMP message: request and
reply per echo when the loop drains, the requests alone when it does not),
and lwipctl leaks (the queued replies on lwIP's heap) against the baseline.
A spoofed echo without the rule first proves the loop works on the build.
"""
import json
import os

from scapy.all import ICMP, IP, Ether, raw  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

BURST = 20
ICMP_ID = 0x4C50  # "LP"


def _echo_to_self(env, mac, seq):
    d = env.d
    return raw(Ether(src=mac, dst=d.mac) /
               IP(src=harness.check_safe(d.ip), dst=harness.check_safe(d.ip)) /
               ICMP(type=8, id=ICMP_ID, seq=seq) / b"lwipd zoo row 15")


def _icmp(env):
    return dict(env.stats()["lwip"]["icmp"])


def _send_wait_xmit(env, frames, what):
    """Write FRAMES, then wait until lwIP has answered each (icmp xmit)."""
    before = _icmp(env)["xmit"]
    _h_net.send(env, frames, 0.02)
    harness.wait_for(lambda: _icmp(env)["xmit"] >= before + len(frames), 10, what, 0.1)


def _settled_recv(env, target, seconds):
    """icmp recv once it reaches TARGET, or its value after SECONDS."""
    try:
        return harness.wait_for(
            lambda: (lambda r: r if r >= target else None)(_icmp(env)["recv"]),
            seconds, "the looped replies", 0.1)
    except TimeoutError:
        return _icmp(env)["recv"]


def run(env):
    d = env.start()
    mac = _h_net.host_mac(env)
    if harness.ping(env.ns, d.ip, count=2)["received"] < 1:
        raise harness.HarnessError("lwIP does not answer ping")
    # Control: without the rule, an echo to itself comes back in (2 ICMP in).
    base = _icmp(env)
    _send_wait_xmit(env, [_echo_to_self(env, mac, 0)], "lwIP's reply to itself")
    if _settled_recv(env, base["recv"] + 2, 5) < base["recv"] + 2:
        raise harness.HarnessError("the looped reply never came in without any fault: "
                                   "no loopback on this build?")
    rule = 'alloc fail 100%% pool=TCPIP_MSG_API "icmp and src host %s"' % d.ip
    rid = env.ctl("fault", op="add", rule=rule)["rule_id"]
    base = _icmp(env)
    _send_wait_xmit(env, [_echo_to_self(env, mac, 1)], "lwIP's reply under the rule")
    st = env.stats()
    acted = [x for x in st["fault"]["rules"] if x["id"] == rid][0]["acted"]
    msg_api_err = st["lwip"]["memp"]["TCPIP_MSG_API"]["err"]
    env.ctl("fault", op="clear")
    if acted < 1:
        raise harness.HarnessError("the rule failed no allocation: tcpip_try_callback "
                                   "was not refused, nothing to call clean")
    env.log("netif_poll's callback refused %d time(s); %d more echoes to self" %
            (acted, BURST))
    _send_wait_xmit(env, [_echo_to_self(env, mac, 2 + i) for i in range(BURST)],
                    "lwIP's replies after the rule")
    sent = 1 + BURST
    recv = _settled_recv(env, base["recv"] + 2 * sent, 3) - base["recv"]
    looped_in = recv - sent
    # The TAP path is not the loop: an ordinary ping still works.
    host_ping = harness.ping(env.ns, d.ip, count=2)["received"]
    clean, last = d.wait_leaks_clean(5)
    with open(os.path.join(env.dir, "leaks.json"), "w") as f:
        json.dump(last, f, indent=1)
    evidence = {"rule": rule, "acted": acted, "memp_tcpip_msg_api_err": msg_api_err,
                "echoes_to_self": sent,
                "icmp_in_after": recv, "looped_replies_in": looped_in,
                "host_ping_received": host_ping, "leaks_clean": clean,
                "leaked": last.get("leaked"), "icmp": _icmp(env)}
    if looped_in < sent or not clean:
        return env.outcome(True, "tcpip_try_callback refused %d time(s); of %d replies "
                           "lwIP sent itself since, %d came back in; leaks: %s" %
                           (acted, sent, looped_in,
                            json.dumps(last.get("leaked"))[:200]), evidence)
    return env.outcome(False, "tcpip_try_callback refused %d time(s); all %d replies "
                       "lwIP sent itself since came back in, leaks clean" %
                       (acted, sent), evidence)
