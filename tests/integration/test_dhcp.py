# SPDX-License-Identifier: MIT
"""--dhcp: lwIP gets its address from a DHCP server on the host side
(dnsmasq, bound to the namespace's TAP only, leases from 198.18.0.0/24)."""
import os
import subprocess

import pytest

from lwipd import testing as harness


@pytest.fixture
def dnsmasq(netns, workdir):
    leases = os.path.join(workdir, "dnsmasq.leases")
    proc = netns.popen(["dnsmasq", "--keep-in-foreground", "--no-daemon", "--port=0",
                        "--no-resolv", "--no-hosts", "--bind-interfaces",
                        "--interface=" + netns.tap, "--except-interface=lo",
                        "--dhcp-range=198.18.0.100,198.18.0.149,255.255.255.0,1h",
                        "--dhcp-leasefile=" + leases, "--log-dhcp",
                        "--pid-file=" + os.path.join(workdir, "dnsmasq.pid")],
                       stdout=subprocess.DEVNULL,
                       stderr=open(os.path.join(workdir, "dnsmasq.log"), "w"))
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


def test_dhcp_lease(netns, workdir, dnsmasq):
    d = harness.Lwipd(netns, workdir, ip=harness.LWIP_IP + "/24")
    i = d.args.index("--ip")
    del d.args[i:i + 2]
    d.args.append("--dhcp")
    d.start()
    try:
        assert d.ready["ip"] == "dhcp"

        def leased():
            ip = d.request({"cmd": "status"})["ip"]
            return ip if ip != "0.0.0.0" else None

        ip = harness.wait_for(leased, 20, "a DHCP lease")
        harness.check_safe(ip)
        assert ip.startswith("198.18.0.1")  # inside the range dnsmasq hands out
        d.ip = ip
        assert harness.ping(netns, ip, count=5)["received"] == 5
        with open(os.path.join(workdir, "dnsmasq.leases")) as f:
            assert d.mac in f.read()
    finally:
        assert d.stop() == 0
