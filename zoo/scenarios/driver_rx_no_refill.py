# SPDX-License-Identifier: MIT
"""Row 35: a driver whose RX ring is not refilled after pbuf_alloc fails:
reception is dead for good (mbed-os #4536, the STM32 EMAC driver).

An EMAC driver hands the frame in an RX descriptor's buffer to lwIP and
re-arms the descriptor with a fresh pbuf; when that pbuf_alloc() fails
and the driver does not come back to it, the DMA engine stops at the
unarmed descriptor and nothing is received again, also once the pool has
buffers. lwipd's `--driver-bug rx-no-refill` does that (the TAP is not
read again after the first failed RX allocation); lwipd's own driver drops
the frame and tries the next one with a new allocation.

Trigger: pings answered (the baseline); PBUF_POOL allocations made to fail
(`alloc fail 100% pool=PBUF_POOL`) while the host sends BURST pings; the
rule cleared; then FLOOD UDP broadcast frames (to the discard port) and
PROBE pings. Evidence: the driver's rx_frames stop at the failure and the
pings go unanswered on the affected variant, the host's TAP queue dropping
what nobody reads; on the fixed one RX resumes (the flood and the pings
counted) after the same failures."""

from scapy.all import IP, UDP, Ether  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_driver, _h_net

RULE = "alloc fail 100% pool=PBUF_POOL"
BURST = 20
FLOOD = 1000
PROBE = 10


def _ping(env, count):
    r = harness.ping(env.ns, harness.check_safe(env.d.ip), count=count,
                     interval=0.05, timeout=30)
    return r["received"], r["transmitted"]


def _host_tap_counter(env, name):
    path = "/sys/class/net/%s/statistics/%s" % (env.ns.tap, name)
    return int(env.ns.run(["cat", path]).stdout.strip())


def run(env):
    env.start()
    got, sent = _ping(env, 5)
    if got != sent:
        raise RuntimeError("only %d of %d pings answered before any fault" % (got, sent))
    before = _h_driver.driver(env)
    rid = env.ctl("fault", op="add", rule=RULE)["rule_id"]
    burst, _ = _ping(env, BURST)
    harness.wait_for(lambda: _h_driver.driver(env)["rx_nomem"] > before["rx_nomem"],
                     5, "an RX allocation failure")
    acted = [r for r in env.ctl("fault", op="list")["rules"] if r["id"] == rid]
    env.ctl("fault", op="clear")
    at_clear = _h_driver.driver(env)
    env.log("%d RX allocations failed; rule cleared; %d broadcast frames, "
            "%d pings" % (at_clear["rx_nomem"] - before["rx_nomem"], FLOOD, PROBE))
    dropped0 = _host_tap_counter(env, "tx_dropped")
    src = _h_net.host_mac(env)
    frame = (Ether(src=src, dst="ff:ff:ff:ff:ff:ff") /
             IP(src=harness.check_safe(harness.HOST_IP),
                dst=harness.check_safe("198.18.0.255")) /
             UDP(sport=40009, dport=9) / (b"\x35" * 64))
    _h_net.send(env, [frame] * FLOOD)
    got, sent = _ping(env, PROBE)
    after = _h_driver.driver(env)
    evidence = {
        "rule": RULE, "rule_acted": acted[0].get("acted") if acted else None,
        "burst_answered": burst,
        "rx_nomem": after["rx_nomem"] - before["rx_nomem"],
        "rx_frames_at_clear": at_clear["rx_frames"],
        "rx_frames_after_flood_and_pings": after["rx_frames"],
        "probe_pings": {"transmitted": sent, "received": got},
        "host_tap_tx_dropped": _host_tap_counter(env, "tx_dropped") - dropped0,
        "driver_bug_acts": after.get("driver_bug_acts"),
    }
    read = after["rx_frames"] - at_clear["rx_frames"]
    if got == 0 and read == 0:
        return env.outcome(True, "RX dead after the failed allocation: 0 of %d "
                           "pings answered and 0 of %d+%d frames read once the "
                           "pool was back (host TAP dropped %d)" %
                           (sent, FLOOD, sent, evidence["host_tap_tx_dropped"]),
                           evidence)
    if got != sent or read < FLOOD:
        return env.outcome(True, "RX only partly back: %d of %d pings, %d frames "
                           "read" % (got, sent, read), evidence)
    return env.outcome(False, "RX back once the pool was: %d of %d pings "
                       "answered, %d frames read after %d failed RX "
                       "allocations" % (got, sent, read, evidence["rx_nomem"]),
                       evidence)
