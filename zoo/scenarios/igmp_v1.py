# SPDX-License-Identifier: MIT
"""Row 29: lwIP's IGMP against RFC 2236 with an IGMPv1 querier (unfixed
upstream; open PRs #96, #102, #105).

RFC 2236 section 4 and 6: a host that hears a v1 query (type 0x11, max resp
0) enters "Version 1 Router Present" for 400 s; meanwhile it answers with
v1 reports (0x12) and MUST NOT send Leave (0x17). lwIP (2.0 to 2.2.1,
src/core/ipv4/igmp.c) keeps no such state: igmp_input() only counts rx_v1
and treats the query as v2 with a 1 s delay (IGMP_V1_DELAYING_MEMBER_TMR);
igmp_timeout() and igmp_joingroup_netif() send IGMP_V2_MEMB_REPORT (0x16)
only - IGMP_V1_MEMB_REPORT is defined and never sent - and
igmp_leavegroup_netif() sends IGMP_LEAVE_GROUP whenever
last_reporter_flag is set.

The oracle is the Linux kernel answering the same query (_h_igmp.py
kernel): a veth pair inside the namespace, one end joined to GROUP with
IP_ADD_MEMBERSHIP, the query written on the other. Run for a variant with
role "fixed" when the entry says oracle = "linux"; the lwIP side for every
other variant.

The lwIP side: lwIP joins GROUP through lwipd's `igmp` control command
(igmp_joingroup_netif() in the tcpip thread); once the group is idle (the
join's two reports sent), the host writes the v1 query into the TAP, waits
for lwIP's answer (igmp tx_report), then makes lwIP leave the group, well
inside the 400 s a v1 router stays present. The capture says which report
type answered the query and whether a Leave went out; lwIP's igmp counters
(rx_v1, tx_report, tx_leave) say the same from the inside. Each point is
judged on its own: lwIP is "bad" if it deviates on either.
"""
import json
import os

from scapy.contrib.igmp import IGMP  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_igmp, _h_net

GROUP = "239.255.18.1"  # administratively scoped
MEMBER_ADDR = "198.18.1.1"
HERE = os.path.dirname(os.path.abspath(__file__))


def _kernel(env):
    ns = env.ns
    ns.run(["ip", "link", "add", "zq0", "type", "veth", "peer", "name",
            "zq1"])
    for ifc in ("zq0", "zq1"):
        ns.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifc])
    ns.run(["ip", "addr", "add", harness.check_safe(MEMBER_ADDR) + "/24",
            "dev", "zq0"])
    ns.run(["ip", "link", "set", "zq0", "up"])
    ns.run(["ip", "link", "set", "zq1", "up"])
    env.log("kernel oracle: zq0 joins %s, v1 query on zq1" % GROUP)
    r = ns.run([_h_net.PYTHON, os.path.join(HERE, "_h_igmp.py"), "kernel",
                "zq1", "zq0", MEMBER_ADDR, GROUP], timeout=60)
    seen = json.loads(r.stdout)
    with open(os.path.join(env.dir, "kernel-igmp.json"), "w") as f:
        json.dump(seen, f, indent=1)
    answer = [m["type"] for m in seen["after_v1_query"]
              if m["group"] == GROUP]
    leave = [m["type"] for m in seen["after_leave"]]
    evidence = {"kernel": seen, "answer_types": answer,
                "after_leave_types": leave}
    if not answer:
        raise RuntimeError("the kernel did not answer the v1 query: %r" % seen)
    if answer == ["0x12"] and not leave:
        return env.outcome(False, "kernel: v1 report 0x12 to the v1 query, "
                           "no Leave after dropping the group (RFC 2236)",
                           evidence)
    return env.outcome(True, "kernel: answered %s, sent %s after leaving" %
                       (answer, leave), evidence)


def _igmp(env):
    return env.stats()["lwip"]["igmp"]


def _group_state(env):
    groups = env.ctl("igmp", op="list")["groups"]
    return {g["group"]: g["state"] for g in groups}.get(GROUP)


def _lwip(env):
    d = env.start()
    r = env.ctl("igmp", op="join", group=GROUP)
    if not r.get("ok"):
        raise RuntimeError("lwipd could not join %s: %r" % (GROUP, r))
    harness.wait_for(lambda: _group_state(env) == "idle-member", 5,
                     "lwIP's group idle after the join's reports")
    before = _igmp(env)
    src = _h_net.host_mac(env)
    _h_net.send(env, [_h_igmp.v1_query(src, harness.HOST_IP)])
    harness.wait_for(lambda: _igmp(env)["rx_v1"] > before["rx_v1"], 5,
                     "lwIP to count the v1 query")
    # RFC 2236: a v1 query's max response time is 10 s; lwIP uses 1 s
    # (IGMP_V1_DELAYING_MEMBER_TMR). One second of margin on the RFC's.
    harness.wait_for(lambda: _igmp(env)["tx_report"] > before["tx_report"],
                     _h_igmp.V1_RESPONSE_S + 1, "lwIP's answer to the v1 query")
    answered = _igmp(env)
    r = env.ctl("igmp", op="leave", group=GROUP)
    if not r.get("ok"):
        raise RuntimeError("lwipd could not leave %s: %r" % (GROUP, r))
    after = _igmp(env)  # igmp_leavegroup_netif() sends its Leave at once
    frames = _h_net.captured(env, d)
    t_query = [ts for ts, pkt, way in frames
               if way == "rx" and IGMP in pkt and pkt[IGMP].type == 0x11][-1]
    mine = [(ts, pkt[IGMP]) for ts, pkt, way in frames
            if way == "tx" and IGMP in pkt and ts > t_query]
    answer = [{"t": round(ts - t_query, 3), "type": "%#04x" % m.type,
               "group": m.gaddr} for ts, m in mine if m.type in (0x12, 0x16)]
    leave = [{"t": round(ts - t_query, 3), "type": "%#04x" % m.type,
              "group": m.gaddr} for ts, m in mine if m.type == 0x17]
    moved = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    evidence = {"answer": answer, "leave": leave, "igmp_moved": moved,
                "answered_counters": {k: answered[k] - before[k]
                                      for k in ("rx_v1", "tx_report")}}
    with open(os.path.join(env.dir, "lwip-igmp.json"), "w") as f:
        json.dump(evidence, f, indent=1)
    if not answer:
        raise RuntimeError("tx_report moved but no report in the capture: %r"
                           % evidence)
    v2_answer = answer[0]["type"] != "0x12"
    points = ["answered the v1 query with %s after %.3f s (RFC 2236: 0x12)"
              % (answer[0]["type"], answer[0]["t"]) if v2_answer else
              "answered the v1 query with a v1 report 0x12 (as RFC 2236)",
              "sent Leave 0x17 to %s on leaving (RFC 2236: none while a v1 "
              "router is present)" % GROUP if leave else
              "sent no Leave (as RFC 2236)"]
    return env.outcome(v2_answer or bool(leave), "lwIP " + "; ".join(points),
                       evidence)


def run(env):
    if env.role == "fixed" and env.entry.get("oracle") == "linux":
        return _kernel(env)
    return _lwip(env)
