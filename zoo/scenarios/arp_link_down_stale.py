# SPDX-License-Identifier: MIT
"""Row 5: a cable pull flushes neither lwIP's ARP table nor anything else:
after the peer changed its MAC while the cable was out, lwIP keeps sending
to the old one until the entry ages out (ARP_MAXAGE, 5 minutes).

netif_set_link_down() (src/core/netif.c, 2.0 to master) only clears
NETIF_FLAG_LINK_UP; etharp_cleanup_netif() runs from netif_set_down(), not
from a link change, and netif_set_link_up() announces lwIP's own address
(gratuitous ARP) without asking for anybody else's. A STABLE entry is
re-requested only shortly before ARP_MAXAGE, first by unicast to the old
MAC. So traffic lwIP starts towards a host that was swapped (or whose NIC
changed) behind a replugged cable goes nowhere for minutes, while a host
that talks first repairs the entry at once (lwIP learns from its ARP).

lwIP side: lwIP pings the host (ARP entry made), cable out (lwipctl link
down), the host's TAP gets a new MAC, cable in, then lwIP pings the host
PINGS times; the capture says where the requests went. The oracle (entry
oracle = "linux"): the same steps for the Linux kernel in a second
namespace over a veth pair (the peer's end down, new MAC, up: the kernel
flushes its neighbours on carrier loss and asks again). Bad: none of
lwIP's pings answered, its requests sent to the old MAC."""
import json
import os

from scapy.all import ICMP, Ether  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

PINGS = 6
NEW_MAC = "02:5a:00:00:00:05"
DEV_ADDR, PEER_ADDR = "198.18.3.2", "198.18.3.1"


def _lwip_ping(env, count):
    r = env.ctl("ping", host=harness.HOST_IP, count=count, interval_ms=300,
                timeout_ms=1000, timeout=count + 15)
    if not r.get("ok"):
        raise harness.HarnessError("ping failed: %r" % r)
    return r


def _lwip(env):
    d = env.start()
    first = _lwip_ping(env, 3)
    if first["received"] != 3:
        raise RuntimeError("lwIP's pings unanswered before the cable pull: %r" % first)
    old_mac = _h_net.host_mac(env)
    env.ctl("link", state="down")
    env.ns.run(["ip", "link", "set", env.ns.tap, "address", NEW_MAC])
    env.ctl("link", state="up")
    harness.wait_for(lambda: env.ns.carrier(), 5, "the host's carrier")
    after = _lwip_ping(env, PINGS)
    to = {}
    for _, pkt, way in _h_net.captured(env, d):
        if way == "tx" and ICMP in pkt and pkt[ICMP].type == 8:
            to[pkt[Ether].dst] = to.get(pkt[Ether].dst, 0) + 1
    evidence = {"old_mac": old_mac, "new_mac": NEW_MAC, "before": first["received"],
                "after": {k: after[k] for k in ("transmitted", "received")},
                "echo_requests_by_dst_mac": to}
    if after["received"] == 0 and to.get(old_mac):
        return env.outcome(True, "0 of %d pings answered after the cable was replugged: "
                           "lwIP sent its requests to the old MAC %s" %
                           (after["transmitted"], old_mac), evidence)
    return env.outcome(after["received"] < after["transmitted"],
                       "%d of %d pings answered after the replug" %
                       (after["received"], after["transmitted"]), evidence)


def _kernel(env):
    dev = harness.Netns(tap="zt0")
    dev.create()
    try:
        env.ns.run(["ip", "link", "add", "zv0", "type", "veth", "peer", "name", "zv1"])
        env.ns.run(["ip", "link", "set", "zv1", "netns", dev.name])
        env.ns.run(["ip", "addr", "add", harness.check_safe(PEER_ADDR) + "/24", "dev", "zv0"])
        env.ns.run(["ip", "link", "set", "zv0", "up"])
        dev.run(["ip", "addr", "add", harness.check_safe(DEV_ADDR) + "/24", "dev", "zv1"])
        dev.run(["ip", "link", "set", "zv1", "up"])
        first = harness.ping(dev, PEER_ADDR, count=3, interval=0.2)
        if first["received"] != 3:
            raise RuntimeError("the kernel's pings unanswered before the pull: %r" % first)
        env.ns.run(["ip", "link", "set", "zv0", "down"])  # the device's carrier drops
        env.ns.run(["ip", "link", "set", "zv0", "address", NEW_MAC])
        env.ns.run(["ip", "link", "set", "zv0", "up"])

        def carrier():
            r = dev.run(["cat", "/sys/class/net/zv1/carrier"], check=False)
            return r.stdout.strip() == "1"

        harness.wait_for(carrier, 5, "the device's carrier")
        after = harness.ping(dev, PEER_ADDR, count=PINGS, interval=0.3)
        neigh = dev.run(["ip", "-j", "neigh", "show", "dev", "zv1"]).stdout
        evidence = {"before": first["received"],
                    "after": {k: after[k] for k in ("transmitted", "received")},
                    "neighbours_after": json.loads(neigh or "[]")}
        with open(os.path.join(env.dir, "kernel-neigh.json"), "w") as f:
            json.dump(evidence, f, indent=1)
        macs = [n.get("lladdr") for n in evidence["neighbours_after"]]
        if after["received"] == after["transmitted"]:
            return env.outcome(False, "kernel: %d of %d pings answered after the replug; "
                               "its neighbour entry holds %s" %
                               (after["received"], after["transmitted"], macs), evidence)
        return env.outcome(True, "kernel: %d of %d pings answered after the replug" %
                           (after["received"], after["transmitted"]), evidence)
    finally:
        dev.delete()


def run(env):
    if env.role == "fixed" and env.entry.get("oracle") == "linux":
        env.log("oracle: the Linux kernel in a second namespace, not lwIP")
        return _kernel(env)
    return _lwip(env)
