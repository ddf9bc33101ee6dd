# SPDX-License-Identifier: MIT
"""Row 3: a driver that frees each pbuf of a chained TX frame on its own.

An EMAC driver that puts every pbuf of a chain in a DMA descriptor of its
own, and frees each descriptor's pbuf on TX completion, frees pbufs that
are not the head of their chain (seed 004). Only the head holds the
driver's reference (pbuf_ref), so pbuf_free() of the head frees the whole
chain and every later segment is freed again: lwIP asserts "pbuf_free:
p->ref > 0" (src/core/pbuf.c), or corrupts its pools without asserts. A
frame of one pbuf is freed correctly, so the bug sleeps until lwIP sends a
chain: ip4_frag() sends each fragment as a header pbuf followed by
references into the datagram, so replies to large pings are chains.

Affected: `--driver-bug tx-free-segments`; fixed: lwipd's own driver (one
pbuf_free() of the head). Trigger: COUNT echo requests of SIZE bytes from
the host (fragmented both ways). Evidence: the assert's crash report on
the affected variant; on the fixed one every request answered and lwIP's
ip_frag.xmit showing it did send fragments (chains)."""
from lwipd import testing as harness
from zoo.scenarios import _h_driver

SIZE = 4000
COUNT = 5


def run(env):
    env.start()
    res = _ping(env)
    evidence = {"ping": {k: res[k] for k in ("transmitted", "received")},
                "size": SIZE}
    rep = _h_driver.crash_evidence(env, evidence)
    if rep is not None:
        if not rep:
            return env.outcome(True, "lwipd exited with %s and no report" %
                               evidence["exit_code"], evidence)
        ours = ("pbuf_free", "tx_ring", "ring_reclaim", "free_segments")
        where = [f for f in evidence["stack"] if f.startswith(ours)]
        return env.outcome(True, "lwIP stopped on %r (%s) after a chained "
                           "frame's segments were freed one by one" %
                           (rep.get("message"), " < ".join(where[:3])), evidence)
    drv = _h_driver.driver(env)
    frag = env.stats()["lwip"]["ip_frag"]
    evidence.update(ip_frag=frag, driver_bug_acts=drv.get("driver_bug_acts"),
                    free_task=drv["free_task"])
    if frag["xmit"] < 2 * res["received"] or res["received"] == 0:
        raise RuntimeError("lwIP sent %d fragments for %d replies: no chained "
                           "frames, the trigger did not run" %
                           (frag["xmit"], res["received"]))
    if res["received"] != res["transmitted"]:
        return env.outcome(True, "%d of %d large pings answered" %
                           (res["received"], res["transmitted"]), evidence)
    return env.outcome(False, "%d pings of %d bytes answered (%d fragments "
                       "sent as pbuf chains), lwipd alive" %
                       (res["received"], SIZE, frag["xmit"]), evidence)


def _ping(env):
    """ping -s SIZE, COUNT times from the host: {transmitted, received}."""
    harness.check_safe(env.d.ip)
    r = env.ns.run(["ping", "-n", "-q", "-c", str(COUNT), "-i", "0.2", "-W",
                    "2", "-s", str(SIZE), env.d.ip], timeout=30, check=False)
    res = {"transmitted": 0, "received": 0}
    for line in r.stdout.splitlines():
        if "packets transmitted" in line:
            parts = line.split(",")
            res["transmitted"] = int(parts[0].split()[0])
            res["received"] = int(parts[1].split()[0])
    return res
