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

The lwIP side cannot be driven yet: lwipd has no way to make lwIP join a
group (no control command or app calls igmp_joingroup_netif()), and lwIP
never reports the all-systems group, its only one. _lwip() therefore sends
the query, records what lwIP did (igmp.rx_v1 counted, nothing sent) and
raises - the entry is "rejected" until lwipd can join and leave a group.
"""
import json
import os

from scapy.contrib.igmp import IGMP  # Debian python3-scapy

import harness
from zoo.scenarios import _h_igmp, _h_net

GROUP = "239.1.2.3"
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


def _lwip(env):
    d = env.start()
    before = _igmp(env)
    src = _h_net.host_mac(env)
    _h_net.send(env, [_h_igmp.v1_query(src, harness.HOST_IP)])
    harness.wait_for(lambda: _igmp(env)["rx_v1"] > before["rx_v1"], 5,
                     "lwIP to count the v1 query")
    # lwIP answers a v1 query within IGMP_V1_DELAYING_MEMBER_TMR (1 s).
    try:
        harness.wait_for(lambda: _igmp(env)["tx_report"] >
                         before["tx_report"], 2, "an IGMP report from lwIP")
    except TimeoutError:
        pass
    after = _igmp(env)
    sent = [hex(pkt[IGMP].type) if IGMP in pkt else "igmp"
            for _, pkt, way in _h_net.captured(env, d)
            if way == "tx" and pkt.haslayer("IP") and pkt["IP"].proto == 2]
    moved = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    if not sent:
        raise RuntimeError(
            "cannot run on lwIP: lwipd has no way to make lwIP join an IGMP "
            "group, and lwIP never reports 224.0.0.1; to the v1 query it "
            "sent nothing (igmp counters moved: %r)" % moved)
    v2 = [t for t in sent if t in ("0x16", "0x17")]
    evidence = {"lwip_sent": sent, "igmp_moved": moved}
    if v2:
        return env.outcome(True, "lwIP answered a v1 querier with %s" % v2,
                           evidence)
    return env.outcome(False, "lwIP answered with %s" % sent, evidence)


def run(env):
    if env.role == "fixed" and env.entry.get("oracle") == "linux":
        return _kernel(env)
    return _lwip(env)
