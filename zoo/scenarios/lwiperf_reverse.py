# SPDX-License-Identifier: MIT
"""lwiperf's byte-limited reverse test: the host's iperf2 sends N bytes to
lwiperf with -r (tradeoff), after which lwiperf connects back and is to
send the same N bytes. Before lwIP 2.2.1 (#64637, 3792075b) lwiperf tests
its limit the wrong way round (amount >= bytes transferred: true from the
start) and closes the connection after its first send.

Bad: the host received fewer than N bytes back. Clean: N or more (lwiperf
may send up to one MSS more, its own @todo). The forward test must have
carried N bytes, else the scenario errors."""
from lwipd import testing as harness

NBYTES = 1000000
LWIPERF_PORT = 5001


def run(env):
    d = env.start()
    r = env.ns.run(["iperf", "-c", d.ip, "-p", str(LWIPERF_PORT), "-n",
                    str(NBYTES), "-r", "-y", "C"], timeout=60, check=False)
    with open(env.dir + "/iperf.csv", "w") as f:
        f.write(r.stdout)
    # CSV: time, source address, port, destination address, port, id,
    # interval, bytes, bits/s. Forward: to lwIP's 5001; reverse: lwiperf
    # connects back to the host's 5001.
    lines = [ln.split(",") for ln in r.stdout.splitlines()
             if ln.count(",") >= 8]
    port = str(LWIPERF_PORT)
    fwd = [ln for ln in lines if ln[3] == d.ip and ln[4] == port]
    rev = [ln for ln in lines if ln[3] == harness.HOST_IP and ln[4] == port]
    if not fwd or int(fwd[0][7]) < NBYTES:
        raise harness.HarnessError("the forward test did not carry %d "
                                   "bytes (exit %d): %r %r" % (
                                       NBYTES, r.returncode, r.stdout,
                                       r.stderr[-1000:]))
    st = env.stats()["apps"].get("lwiperf")
    evidence = {"forward_bytes": int(fwd[0][7]),
                "reverse_bytes": int(rev[0][7]) if rev else None,
                "iperf_exit": r.returncode, "lwiperf": st}
    if not rev:
        return env.outcome(True, "no reverse test from lwiperf (iperf exit "
                           "%d)" % r.returncode, evidence)
    got = int(rev[0][7])
    if got < NBYTES:
        return env.outcome(True, "reverse test: lwiperf sent %d of %d bytes "
                           "and closed" % (got, NBYTES), evidence)
    return env.outcome(False, "reverse test: lwiperf sent %d bytes (%d "
                       "asked)" % (got, NBYTES), evidence)
