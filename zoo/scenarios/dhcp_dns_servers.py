# SPDX-License-Identifier: MIT
"""Row 30: a DHCP reply with more DNS servers than lwIP keeps for DHCP
overruns dhcp_rx_options_val[] (lwIP commit 1eeb70fb, 2.2.1).

lwIP <= 2.2.0's dhcp_parse_reply() (src/core/ipv4/dhcp.c) limits option 6
to 4 * DNS_MAX_SERVERS bytes, but the table it decodes into,
dhcp_rx_options_val[], has LWIP_DHCP_PROVIDE_DNS_SERVERS slots for DNS
servers: min(DNS_MAX_SERVERS, LWIP_DHCP_MAX_DNS_SERVERS). With the
defaults (both 2) the two agree; a configuration that gives DHCP fewer
servers than DNS keeps (zoo/opts/dns4: DNS_MAX_SERVERS 4,
LWIP_DHCP_MAX_DNS_SERVERS 1) decodes the extra servers past the DNS
slots: with asserts "check decode_idx" stops it, without them the writes
land past the end of the static arrays. 2.2.1 limits by
LWIP_DHCP_PROVIDE_DNS_SERVERS.

Trigger: lwipd --dhcp against the scripted server (_h_dhcp.py
--dns-servers 4) whose OFFER and ACK carry four DNS servers. Bad: lwIP
stops on the assert (or gets no lease). Clean: the lease, from replies that
carried four servers (checked in the capture)."""
from scapy.all import BOOTP, DHCP, Ether  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_driver, _h_net

WINDOW = 15.0
SERVERS = 4


def _dns_in_replies(env):
    """[number of DNS servers] of each DHCP reply in the capture."""
    out = []
    for _, raw in harness.read_pcap(env.d.pcap):
        pkt = Ether(raw)
        if DHCP not in pkt or pkt[BOOTP].op != 2:
            continue
        ns = [o for o in pkt[DHCP].options
              if isinstance(o, tuple) and o[0] == "name_server"]
        out.append(len(ns[0]) - 1 if ns else 0)
    return out


def run(env):
    srv, out = _h_net.dhcp_server(env, WINDOW + 30, "--dns-servers", str(SERVERS))
    ip = None
    try:
        # the OFFER may come before lwipd says it is ready (and stop it)
        d = env.start(["--dhcp"], wait_ready=False)

        def leased_or_stopped():
            if _h_driver.stopped(env):
                return "stopped"
            try:
                ip = d.request({"cmd": "status"})["ip"]
            except (OSError, EOFError, ValueError, harness.HarnessError):
                return "stopped" if _h_driver.stopped(env) else None
            return ip if ip != "0.0.0.0" else None

        try:
            ip = harness.wait_for(leased_or_stopped, WINDOW, "a lease or a stop", 0.2)
        except TimeoutError:
            pass
    finally:
        seen = _h_net.dhcp_server_stop(srv, out)
    evidence = {"server_log": seen, "lease": None if ip == "stopped" else ip}
    if not any(m.get("answer") == "offer" for m in seen):
        raise RuntimeError("the server sent no OFFER: %r" % seen)
    rep = _h_driver.crash_evidence(env, evidence)
    if rep:
        return env.outcome(True, "lwIP stopped on %r parsing a reply with %d DNS "
                           "servers" % (rep.get("message"), SERVERS), evidence)
    if rep is not None or ip is None:
        return env.outcome(True, "no lease in %.0f s from a server that offered "
                           "one with %d DNS servers" % (WINDOW, SERVERS), evidence)
    env.ctl("capture", op="stop")
    dns = _dns_in_replies(env)
    evidence["dns_servers_in_replies"] = dns
    if not dns or min(dns) != SERVERS:
        raise RuntimeError("the replies did not carry %d DNS servers: %r" % (SERVERS, dns))
    build = env.ctl("version")["build"]
    evidence["build_options"] = {k: build.get("options", {}).get(k) for k in (
        "LWIP_DNS", "DNS_MAX_SERVERS", "LWIP_DHCP_MAX_DNS_SERVERS")}
    harness.check_safe(ip)
    return env.outcome(False, "leased %s from replies with %d DNS servers" %
                       (ip, SERVERS), evidence)
