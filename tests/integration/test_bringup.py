# SPDX-License-Identifier: MIT
"""Bring-up: ARP, ping, the ready line, status."""
from lwipd import testing as harness


def test_ping_100_no_loss(netns, lwipd):
    r = harness.ping(netns, lwipd.ip, count=100, interval=0.01)
    assert r["transmitted"] == 100, r["output"]
    assert r["received"] == 100, r["output"]
    assert r["loss"] == 0.0
    icmp = lwipd.stats()["lwip"]["icmp"]
    assert icmp["recv"] >= 100 and icmp["xmit"] >= 100


def test_arping_resolves_lwipd_mac(netns, lwipd):
    r = netns.run(["arping", "-c", "3", "-w", "5", "-I", netns.tap, lwipd.ip], check=False)
    assert lwipd.mac.lower() in r.stdout.lower(), r.stdout + r.stderr
    assert lwipd.stats()["lwip"]["etharp"]["recv"] >= 3


def test_ready_line_and_status(netns, lwipd):
    assert lwipd.ready["tap"] == netns.tap
    assert lwipd.ready["ip"] == harness.LWIP_IP
    assert lwipd.ready["control"] == lwipd.control
    st = lwipd.request({"cmd": "status", "id": 42})
    assert st["ok"] is True and st["id"] == 42
    assert st["ip"] == harness.LWIP_IP and st["netmask"] == "255.255.255.0"
    assert st["mac"] == lwipd.mac
    assert st["link"] == "up"
    assert st["pid"] == lwipd.pid
    assert st["build"]["lwip"].count(".") == 2
    # The stable default MAC is locally administered and derived from the TAP name.
    assert lwipd.mac.startswith("02:4c:77:")


def test_lwipctl_human_and_json(lwipd):
    r = lwipctl = lwipd.lwipctl("status")
    assert r.returncode == 0, r.stderr
    assert "link: up" in r.stdout and "ip: " + harness.LWIP_IP in r.stdout
    r = lwipd.lwipctl("--json", "stats")
    assert r.returncode == 0
    import json
    s = json.loads(r.stdout)["stats"]
    # Every lwIP stat group and every memp pool by name.
    for group in ("link", "etharp", "ip", "icmp", "udp", "tcp", "mem", "memp", "sys"):
        assert group in s["lwip"], group
    for pool in ("PBUF_POOL", "TCP_PCB", "UDP_PCB", "TCPIP_MSG_API", "NETCONN"):
        assert pool in s["lwip"]["memp"], pool
    assert s["lwip"]["memp"]["PBUF_POOL"]["avail"] > 0
    for key in ("rx_frames", "tx_frames", "ring_size", "txc_isr_runs", "free_task"):
        assert key in s["driver"], key
    assert lwipctl.returncode == 0


def test_static_mac_and_gateway(netns, lwipd_factory):
    d = lwipd_factory("--mac", "02:00:5e:10:20:30", "--gw", harness.HOST_IP)
    assert d.mac == "02:00:5e:10:20:30"
    r = netns.run(["arping", "-c", "2", "-w", "5", "-I", netns.tap, d.ip], check=False)
    assert "02:00:5e:10:20:30" in r.stdout.lower(), r.stdout
