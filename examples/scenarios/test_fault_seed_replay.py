# SPDX-License-Identifier: MIT
"""A fault rule's decisions come from --seed: the same seed and the same
traffic drop the same frames, run after run."""
from scapy.layers.inet import ICMP

PINGS = 60
RULE = 'rx drop 30% "icmp"'


def dropped_pings(d):
    """The ICMP sequence numbers of the echo requests the rule dropped."""
    d.fault(RULE)
    d.run(["ping", "-n", "-q", "-c", str(PINGS), "-i", "0.02", "-W", "1", d.address],
          check=False)
    d.wait_for(lambda: len(d.capture().having(ICMP)) >= PINGS, 5, "the pings in the capture")
    return [p[ICMP].seq for p in d.capture().having(ICMP)
            if p[ICMP].type == 8 and any("dropped by fault rule" in c for c in p.comments)]


def test_same_seed_same_decisions(lwipd_factory):
    args = ["--seed", "7", "--pcap-format", "pcapng"]
    first = lwipd_factory(*args)
    one = dropped_pings(first)
    first.stop()
    two = dropped_pings(lwipd_factory(*args))
    assert one and one == two
