# SPDX-License-Identifier: MIT
"""Link down/up: lwIP's link (netif_is_link_up(), status "lwip_link_up"), the
driver's and the host's carrier move together, and a gratuitous ARP follows
the link coming up."""
import time

from lwipd import testing as harness


def test_link_down_up_carrier_and_garp(netns, lwipd):
    assert netns.carrier()
    assert lwipd.request({"cmd": "status"})["lwip_link_up"] is True
    r = lwipd.lwipctl("link", "down")
    assert r.returncode == 0, r.stderr
    assert "link: down" in r.stdout
    harness.wait_for(lambda: not netns.carrier(), 5, "host carrier off")
    assert "NO-CARRIER" in netns.link_show()
    st = lwipd.request({"cmd": "status"})
    assert st["link"] == "down"  # the driver's flag
    assert st["lwip_link_up"] is False  # lwIP's own: netif_is_link_up()
    assert "lwip_link_up: no" in lwipd.lwipctl("status").stdout  # lwipctl: yes/no
    assert lwipd.stats()["driver"]["link_up"] is False
    # No carrier: the host cannot reach lwIP.
    assert harness.ping(netns, lwipd.ip, count=3, interval=0.2)["received"] == 0

    t_up = time.time()
    r = lwipd.lwipctl("link", "up")
    assert r.returncode == 0, r.stderr
    harness.wait_for(netns.carrier, 5, "host carrier on")
    assert "NO-CARRIER" not in netns.link_show()
    assert lwipd.request({"cmd": "link"})["link"] == "up"
    up = lwipd.request({"cmd": "status"})
    assert up["link"] == "up" and up["lwip_link_up"] is True
    assert "lwip_link_up: yes" in lwipd.lwipctl("status").stdout

    def after_up(pred):  # what lwIP sent since the link came up
        return [p.ts for p in lwipd.capture().tx() if p.ts >= t_up - 0.001 and pred(p.data)]

    # The host's side becomes operational shortly after the carrier (link
    # watch): poll until lwIP answers again, then until the capture holds it.
    harness.wait_for(lambda: harness.ping(netns, lwipd.ip, count=1)["received"] == 1, 10,
                     "ping through the plugged link")
    harness.wait_for(lambda: after_up(harness.is_icmp_echo_reply), 5, "the reply in the capture")
    garps = after_up(lambda f: harness.is_gratuitous_arp(f, lwipd.ip))
    if harness.expects_garp_on_link_up(st):
        assert len(garps) >= 1
        assert garps[0] < after_up(harness.is_icmp_echo_reply)[0]  # announced first
    else:
        # lwIP 2.2 with LWIP_ACD: documented to send none for a static address.
        assert garps == []
    assert harness.ping(netns, lwipd.ip, count=5)["received"] == 5
    assert lwipd.stats()["driver"]["link_changes"] >= 3  # initial up, down, up


def test_link_command_rejects_bad_state(lwipd):
    resp = lwipd.request({"cmd": "link", "state": "sideways"})
    assert resp["ok"] is False and "state" in resp["error"]
    assert lwipd.request({"cmd": "link"})["link"] == "up"
    r = lwipd.lwipctl("link", "sideways")
    assert r.returncode == 64
