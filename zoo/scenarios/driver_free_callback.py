# SPDX-License-Identifier: MIT
"""Row 2: pbuf_free_callback() fails with ERR_MEM and a driver that
ignores the error leaks the pbuf.

A driver that frees sent pbufs from its TX-complete ISR with
pbuf_free_callback() hands each one to the tcpip thread in a message from
MEMP_TCPIP_MSG_API through the tcpip mailbox (tcpip_try_callback); when
the pool or the mailbox is full the call fails and the pbuf is not freed.
A driver that drops the descriptor anyway leaks the pbuf for good; one that
keeps it and tries later (lwipd's: tx_ring_sweep) does not.

Affected: `--txc-free callback --driver-bug free-callback-drop`; fixed:
`--txc-free callback` (lwipd's driver). Trigger: `alloc fail 50%
pool=TCPIP_MSG_API` (the allocation tcpip_try_callback makes, here from
the ISR) during a ping flood of PINGS, then the rule cleared. Evidence:
lwipctl leaks (pools and heap against the baseline taken at start) not
back on the affected variant, back on the fixed one, with the driver's
free_callback_fail showing that the failures happened on both."""
import json
import os

from lwipd import testing as harness
from zoo.scenarios import _h_driver

RULE = "alloc fail 50% pool=TCPIP_MSG_API"
PINGS = 2000


def run(env):
    d = env.start()
    env.ctl("fault", op="add", rule=RULE)
    flood = harness.ping_flood(env.ns, env.d.ip, count=PINGS, interval="0.002")
    try:
        flood.wait(timeout=60)
    finally:
        harness.interrupt(flood)
    env.ctl("fault", op="clear")
    drv = _h_driver.driver(env)
    evidence = {"rule": RULE, "pings": PINGS,
                "free_callback": drv["free_callback"],
                "free_callback_fail": drv["free_callback_fail"],
                "driver_bug_acts": drv.get("driver_bug_acts"),
                "icmp": env.stats()["lwip"]["icmp"]}
    if drv["free_callback_fail"] == 0:
        raise RuntimeError("no pbuf_free_callback() failed: the trigger did "
                           "not run, nothing to call clean")
    clean, last = d.wait_leaks_clean(6)
    with open(os.path.join(env.dir, "leaks.json"), "w") as f:
        json.dump(last, f, indent=1)
    evidence.update(leaks_clean=clean, leaked=last.get("leaked"))
    if not clean:
        return env.outcome(True, "%d pbuf_free_callback() failures; 6 s "
                           "after the rule was cleared lwIP's memory is not "
                           "back: %s" % (drv["free_callback_fail"],
                                         json.dumps(last.get("leaked"))[:200]),
                           evidence)
    return env.outcome(False, "%d pbuf_free_callback() failures, every pbuf "
                       "freed later: leaks clean" % drv["free_callback_fail"],
                       evidence)
