# SPDX-License-Identifier: MIT
"""The cable pulled in the middle of an iperf3 -R run (lwIP sending): the
run survives, and the capture shows lwIP's retransmissions after the
link came back."""
import subprocess
import time

import pytest
from scapy.layers.inet import TCP

from lwipd.capture import TX


def retransmissions(capture):
    """lwIP's data segments whose sequence number it had sent before."""
    seen, again = set(), 0
    for p in capture.having(TCP, TX):
        tcp = p[TCP]
        key = (tcp.sport, tcp.dport, tcp.seq)
        if len(tcp.payload) == 0:
            continue
        again += key in seen
        seen.add(key)
    return again


@pytest.mark.lwipd(args=["--pcap-snaplen", "128"])
def test_link_pull_during_iperf3_reverse(lwipd):
    client = lwipd.popen(["iperf3", "-c", lwipd.address, "-R", "-t", "4", "-b", "40M", "-J"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Pull the cable once lwIP has sent 2 MB.
        tx0 = lwipd.stats()["driver"]["tx_bytes"]
        lwipd.wait_for(lambda: lwipd.stats()["driver"]["tx_bytes"] > tx0 + (2 << 20), 15,
                       "2 MB from lwIP")
        lost0 = lwipd.stats()["driver"]["rx_link_down"]
        lwipd.link(False)
        pulled = time.monotonic()
        # The host's ACKs of what was in flight are lost with the cable...
        lwipd.wait_for(lambda: lwipd.stats()["driver"]["rx_link_down"] > lost0, 10,
                       "ACKs lost on the pulled cable")
        # ... and the cable stays out 2 s, longer than lwIP's retransmission
        # timeout on this link: lwIP must send the unacknowledged data again.
        lwipd.wait_for(lambda: time.monotonic() - pulled >= 2, 5, "2 s without the cable")
        lwipd.link(True)
        out, err = client.communicate(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 0, err
    assert retransmissions(lwipd.capture()) > 0
