# SPDX-License-Identifier: MIT
"""ARP resolution while 30 % of the ARP frames to lwIP are lost: every
request that gets through is answered, and the capture shows which ones
the rule dropped."""
import re

import pytest
from scapy.layers.l2 import ARP

from lwipd.capture import RX, TX


@pytest.mark.lwipd(args=["--seed", "7", "--pcap-format", "pcapng"])
def test_arp_resolution_under_30pct_arp_loss(lwipd):
    rule = lwipd.fault('rx drop 30% "arp"')
    # 40 ARP requests from the host, 50 ms apart (arping -c: sent, not answered).
    out = lwipd.run(["arping", "-c", "40", "-i", "0.05", "-I", lwipd.ns.tap, lwipd.address],
                    check=False).stdout
    answered = int(re.search(r"(\d+) packets received", out).group(1))

    counters = {r["id"]: r for r in lwipd.ctl("fault", op="list")["rules"]}[rule]
    assert counters["matched"] == 40 and 0 < counters["acted"] < 40, counters
    assert answered == 40 - counters["acted"], out

    def replies():
        return [p for p in lwipd.capture().having(ARP, TX)
                if p[ARP].op == 2 and p[ARP].pdst == lwipd.host_address]

    # Every request the rule let through got its reply.
    lwipd.wait_for(lambda: len(replies()) == 40 - counters["acted"], 5,
                   "a reply for every request lwIP saw")
    dropped = [p for p in lwipd.capture().having(ARP, RX)
               if any("dropped by fault rule %d" % rule in c for c in p.comments)]
    assert len(dropped) == counters["acted"]
