# SPDX-License-Identifier: MIT
"""Row 4: a driver that calls lwIP's link API from its interrupt handler.

A driver that handles the PHY's link interrupt in place calls
netif_set_link_down()/netif_set_link_up() from the ISR: without the core
lock, on top of whatever lwIP code the interrupt stopped (link up sends a
gratuitous ARP, restarts DHCP, ... from the ISR). lwIP 2.0.x cannot see it;
2.1.0 added LWIP_ASSERT_CORE_LOCKED() to these functions, which lwipd's
port implements (sys_check_core_locking: "lwIP core function called from
an ISR").

Affected: `--driver-bug link-from-isr` (every 32nd TX-complete ISR flaps
lwIP's link from the ISR); fixed: lwipd's own driver, whose link changes
go through the tcpip thread (lwipctl link down/up, FLAPS times during the
same load). Load: a ping flood from the host for up to FLOOD_S seconds
(each reply's completion raises the ISR). Evidence: the core-lock check's
crash report naming netif_set_link_down under the ISR; on the fixed
variant the flood answered, the flaps done and no report. On 2.0.3 the
mode runs unchecked: the flaps and their gratuitous ARPs happen from the
ISR, with no report (the row's "affected" version)."""
from lwipd import testing as harness
from zoo.scenarios import _h_driver

FLOOD_S = 8.0
FLAPS = 3
MIN_ISR_RUNS = 64  # two of the mode's flaps' worth


def run(env):
    env.start()
    flood = harness.ping_flood(env.ns, env.d.ip, count=4000, interval="0.002")
    flaps = 0
    evidence = {}
    try:
        try:
            harness.wait_for(lambda: _h_driver.stopped(env) or _ran(env),
                             FLOOD_S, "a report or the ISR runs", interval=0.2)
        except TimeoutError:
            pass
        if not _h_driver.stopped(env):
            for _ in range(FLAPS):  # the correct way: in the tcpip thread
                if _h_driver.alive_request(env, lambda: (
                        env.ctl("link", state="down"),
                        env.ctl("link", state="up"))) is None:
                    break
                flaps += 1
    finally:
        harness.interrupt(flood)
    evidence["control_flaps"] = flaps
    rep = _h_driver.crash_evidence(env, evidence)
    if rep is not None:
        if not rep:
            return env.outcome(True, "lwipd exited with %s and no report" %
                               evidence["exit_code"], evidence)
        link = [f for f in evidence["stack"] if f.startswith("netif_set_link")]
        stopped = [f for f in evidence.get("interrupted_stack", [])
                   if not f.startswith(("sem_", "<", "__"))]
        return env.outcome(True, "%r in %s (ISR: %s), which interrupted %s" % (
            rep.get("message"), link[0] if link else "?",
            evidence["in_isr"], " < ".join(stopped[:3]) or "?"), evidence)
    drv = _h_driver.driver(env)
    evidence.update(txc_isr_runs=drv["txc_isr_runs"],
                    link_changes=drv["link_changes"],
                    driver_bug_acts=drv.get("driver_bug_acts"),
                    icmp=env.stats()["lwip"]["icmp"])
    if drv["txc_isr_runs"] < MIN_ISR_RUNS:
        raise RuntimeError("only %d TX-complete ISR runs: the load did not "
                           "run" % drv["txc_isr_runs"])
    if drv.get("driver_bug_acts"):
        # lwIP < 2.1: nothing checks; link up's gratuitous ARP went out
        # from the ISR, on top of the interrupted lwIP code.
        env.ctl("capture", op="stop")
        garps = sum(1 for _, f in harness.read_pcap(env.d.pcap)
                    if harness.is_gratuitous_arp(f, env.d.ip))
        evidence["gratuitous_arps"] = garps
        return env.outcome(True, "the ISR flapped lwIP's link %d times with "
                           "no check (no LWIP_ASSERT_CORE_LOCKED before 2.1); "
                           "%d gratuitous ARPs in the capture (start, %d "
                           "control flaps and the ISR's link-ups)"
                           % (drv["driver_bug_acts"], garps, flaps), evidence)
    return env.outcome(False, "%d TX-complete ISR runs, %d link flaps through "
                       "the tcpip thread, no report" %
                       (drv["txc_isr_runs"], flaps), evidence)


def _ran(env):
    """The ISR has run often enough for the mode to act twice."""
    drv = _h_driver.alive_request(env, lambda: _h_driver.driver(env))
    return drv is not None and drv["txc_isr_runs"] >= MIN_ISR_RUNS
