# SPDX-License-Identifier: MIT
"""IGMP: lwIP joins and leaves multicast groups (`igmp` command,
--igmp-join) as an IGMPv2 host (RFC 2236): a membership report (0x16) on
joining, a report within the max response time of a general query, a Leave
(0x17) to 224.0.0.2 on leaving. Evidence: the frames in the capture,
dissected with scapy, and lwIP's IGMP counters (`stats`, lwip.igmp).

The groups are from 239.255.18.0/24 (administratively scoped); the frames
stay on the namespace's TAP link."""
import pytest

from scapy.all import IP, Ether  # Debian python3-scapy
from scapy.contrib.igmp import IGMP

from lwipd import testing as harness

GROUP = "239.255.18.1"
OTHER = "239.255.18.2"
ALL_ROUTERS = "224.0.0.2"
QUERY_MAX_RESP_S = 2.0  # the query's max response time (20 tenths)
TICK_S = 0.1  # lwIP's IGMP timer (IGMP_TMR_INTERVAL): its delays are whole ticks

QUERY = r"""
import sys
from scapy.all import IP, Ether, IPOption_Router_Alert, sendp, conf
from scapy.contrib.igmp import IGMP
conf.verb = 0
iface, src, mrcode = sys.argv[1], sys.argv[2], int(sys.argv[3])
mac = open("/sys/class/net/%s/address" % iface).read().strip()
q = (Ether(src=mac, dst="01:00:5e:00:00:01") /
     IP(src=src, dst="224.0.0.1", ttl=1, options=[IPOption_Router_Alert()]) /
     IGMP(type=0x11, mrcode=mrcode, gaddr="0.0.0.0"))
sendp(q, iface=iface)
"""


def igmp_frames(d):
    """[(t, way, type, group, ip dst)] of the IGMP messages in d's capture;
    way is "tx" for lwIP's frames, "rx" for the host's."""
    ours = d.mac.lower()
    out = []
    for t, data in harness.read_pcap(d.pcap):
        pkt = Ether(data)
        if IGMP not in pkt:
            continue
        way = "tx" if pkt[Ether].src.lower() == ours else "rx"
        out.append((t, way, pkt[IGMP].type, pkt[IGMP].gaddr, pkt[IP].dst))
    return out


def sent(d, igmp_type, group, after=0.0):
    return [f for f in igmp_frames(d)
            if f[1] == "tx" and f[2] == igmp_type and f[3] == group and f[0] > after]


def wait_sent(d, igmp_type, group, what, after=0.0, timeout=5):
    harness.wait_for(lambda: sent(d, igmp_type, group, after), timeout, what)
    return sent(d, igmp_type, group, after)


def igmp_stats(d):
    return d.stats()["lwip"]["igmp"]


def ok(d, **req):
    resp = d.request(dict(req, cmd="igmp"))
    assert resp["ok"], resp
    return resp


def groups(d):
    return {g["group"]: g for g in ok(d, op="list")["groups"]}


def test_join_sends_a_v2_report_and_list_shows_it(lwipd):
    before = igmp_stats(lwipd)
    r = lwipd.lwipctl("--json", "igmp", "join", GROUP, check=True)
    assert '"joined":true' in r.stdout and GROUP in r.stdout, r.stdout
    reports = wait_sent(lwipd, 0x16, GROUP, "lwIP's membership report for %s" % GROUP)
    assert reports[0][4] == GROUP  # a v2 report goes to the group itself
    listed = groups(lwipd)
    assert GROUP in listed and listed[GROUP]["use"] == 1, listed
    assert listed[GROUP]["state"] in ("delaying-member", "idle-member"), listed
    assert "224.0.0.1" in listed  # all systems: lwIP's own, never reported
    after = igmp_stats(lwipd)
    # tx_join counts the join's report; its repeat (tx_report) may come later
    assert after["tx_join"] == before["tx_join"] + 1, (before, after)
    assert after["xmit"] >= before["xmit"] + 1, (before, after)
    ok(lwipd, op="leave", group=GROUP)  # back to the pools of the baseline


def test_general_query_is_answered_within_max_response_time(netns, lwipd):
    ok(lwipd, op="join", group=GROUP)
    # lwIP repeats the join's report once (IGMP_JOIN_DELAYING_MEMBER_TMR),
    # then the group is idle: only then does a query start a new delay.
    harness.wait_for(lambda: groups(lwipd)[GROUP]["state"] == "idle-member", 5,
                     "the group idle after the join's reports")
    before = igmp_stats(lwipd)
    netns.run([harness.PYTHON, "-c", QUERY, netns.tap, harness.HOST_IP,
               str(int(QUERY_MAX_RESP_S * 10))], timeout=60)
    harness.wait_for(lambda: [f for f in igmp_frames(lwipd) if f[1] == "rx" and f[2] == 0x11],
                     5, "the query in the capture")
    t_query = [f for f in igmp_frames(lwipd) if f[1] == "rx" and f[2] == 0x11][-1][0]
    answer = wait_sent(lwipd, 0x16, GROUP, "a report answering the query", after=t_query,
                       timeout=QUERY_MAX_RESP_S + 3)
    delay = answer[0][0] - t_query
    assert delay <= QUERY_MAX_RESP_S + TICK_S, "answered after %.3f s" % delay
    after = igmp_stats(lwipd)
    assert after["rx_general"] == before["rx_general"] + 1, (before, after)
    assert after["tx_report"] >= before["tx_report"] + 1, (before, after)
    ok(lwipd, op="leave", group=GROUP)


def test_leave_sends_a_leave_to_all_routers(lwipd):
    ok(lwipd, op="join", group=GROUP)
    wait_sent(lwipd, 0x16, GROUP, "the join's report")
    before = igmp_stats(lwipd)
    resp = ok(lwipd, op="leave", group=GROUP)
    assert resp["group"] == GROUP and resp["joined"] is False, resp
    leaves = wait_sent(lwipd, 0x17, GROUP, "lwIP's Leave for %s" % GROUP)
    assert leaves[0][4] == ALL_ROUTERS, leaves
    assert GROUP not in groups(lwipd)
    after = igmp_stats(lwipd)
    assert after["tx_leave"] == before["tx_leave"] + 1, (before, after)


def test_igmp_join_option_joins_at_start(lwipd_factory):
    d = lwipd_factory("--igmp-join", "%s,%s" % (GROUP, OTHER))
    for g in (GROUP, OTHER):
        wait_sent(d, 0x16, g, "the report for %s" % g)
    listed = groups(d)
    assert GROUP in listed and OTHER in listed, listed


@pytest.mark.parametrize("req, cause", [
    ({"op": "join", "group": "198.18.0.9"}, "not an IPv4 multicast address"),
    ({"op": "join", "group": "not-an-address"}, "not an IPv4 multicast address"),
    ({"op": "join"}, "needs \"group\""),
    ({"op": "join", "group": "224.0.0.1"}, "always in 224.0.0.1"),
    ({"op": "leave", "group": OTHER}, "not in group %s" % OTHER),
    ({"op": "subscribe", "group": GROUP}, "must be join, leave or list"),
])
def test_bad_requests_are_answered_with_the_cause(lwipd, req, cause):
    before = igmp_stats(lwipd)
    resp = lwipd.request(dict(req, cmd="igmp"))
    assert resp["ok"] is False and cause in resp["error"], resp
    assert igmp_stats(lwipd)["tx_join"] == before["tx_join"]
    assert lwipd.request({"cmd": "status"})["ok"]  # still serving


def test_out_of_groups_is_lwips_error(lwipd):
    """Join until lwIP's group pool (MEMP_NUM_IGMP_GROUP) is empty: the
    refusal names it, and the groups joined before stay."""
    joined, refused = [], None
    for i in range(10, 80):
        g = "239.255.18.%d" % i
        resp = lwipd.request({"cmd": "igmp", "op": "join", "group": g})
        if not resp["ok"]:
            refused = resp
            break
        joined.append(g)
    assert refused and "MEMP_NUM_IGMP_GROUP" in refused["error"], refused
    assert joined and set(joined) <= set(groups(lwipd))
    for g in joined:
        ok(lwipd, op="leave", group=g)


def test_lwipctl_usage_errors(lwipd):
    for args in (["igmp", "join"], ["igmp", "leave", GROUP, OTHER], ["igmp", "list", GROUP]):
        r = lwipd.lwipctl(*args)
        assert r.returncode == 64 and "usage: igmp" in r.stderr, (args, r.returncode, r.stderr)
