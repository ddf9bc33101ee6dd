# SPDX-License-Identifier: MIT
"""Row 17: an IPv4 fragment lwIP receives twice is freed twice.

lwIP 2.0.3's ip_reass_chain_frag_into_datagram_and_validate()
(src/core/ipv4/ip4_frag.c) frees a duplicate or overlapping fragment at its
`freepbuf:` label and returns IP_REASS_VALIDATE_PBUF_DROPPED; its caller
ip4_reass() then jumps to `nullreturn:` and frees the same pbuf again: the
second pbuf_free() finds ref == 0 and asserts "pbuf_free: p->ref > 0".
2.0.2 freed it once (its caller returned without freeing); 2.1.0 (upstream
0795e289) leaves the freeing to the caller only.

Trigger: echo requests of 3000 bytes cut into three fragments, the first
fragment written into the TAP twice in a row (f1 f1 f2 f3), so that the
copy meets the reassembly entry its original opened. lwipd's `rx dup` rule
is not used: its copy goes into lwIP at once while the original waits in
the RX batch, so the copies of a burst (f1' f2' f3') form a datagram of
their own ahead of the originals and never meet their reassembly entry:
both reassemble, and ping counts DUP! replies.
"""
from scapy.all import ICMP, IP, Ether, fragment  # Debian python3-scapy

from lwipd import testing as harness
from zoo.scenarios import _h_net

SIZE = 3000
COUNT = 3
ECHO_ID = 0x4A17


def _requests(env):
    """[(seq, [fragment frames])] for COUNT echo requests."""
    src, dst = _h_net.host_mac(env), env.d.mac
    out = []
    for seq in range(1, COUNT + 1):
        pkt = (IP(src=harness.check_safe(harness.HOST_IP),
                  dst=harness.check_safe(env.d.ip), id=0x1700 + seq) /
               ICMP(type=8, id=ECHO_ID, seq=seq) / (bytes([seq]) * SIZE))
        out.append((seq, [Ether(src=src, dst=dst) / f
                          for f in fragment(pkt, fragsize=1480)]))
    return out


def _replies(frames):
    """Sequence numbers of lwIP's echo replies to ECHO_ID (their first
    fragments)."""
    seqs = []
    for _, pkt, way in frames:
        if way != "tx" or ICMP not in pkt or pkt[IP].frag != 0:
            continue
        if pkt[ICMP].type == 0 and pkt[ICMP].id == ECHO_ID:
            seqs.append(pkt[ICMP].seq)
    return seqs


def _stopped(env):
    return env.exited() is not None or env.crash_reports()


def _crashed(env, evidence):
    reports = env.crash_reports()
    code = env.exited()
    evidence["exit_code"] = code
    evidence["crash_reports"] = [rep["_path"] for rep in reports]
    if reports:
        rep = reports[0]
        fns = [f.get("fn") for f in rep.get("stack", {}).get("frames", [])]
        fns = [fn for fn in fns if fn]
        evidence.update(kind=rep.get("kind"), message=rep.get("message"),
                        stack=fns[:14])
        where = ""
        if any(fn.startswith("ip4_reass") for fn in fns):
            where = " in ip4_reass"
        return env.outcome(True, "lwIP stopped on %r%s" %
                           (rep.get("message"), where), evidence)
    if code is not None:
        return env.outcome(True, "lwipd exited with %s and no report" % code,
                           evidence)
    return None


def run(env):
    env.start()
    reqs = _requests(env)
    nfrag = len(reqs[0][1])
    if nfrag < 2:
        raise RuntimeError("the request was not fragmented")
    for seq, frags in reqs:
        env.log("echo request %d: %d fragments, the first one twice" %
                (seq, nfrag))
        _h_net.send(env, [frags[0]] + frags)

        def answered_or_stopped():
            if _stopped(env):
                return True
            try:
                return env.stats()["lwip"]["icmp"]["xmit"] >= seq
            except (OSError, EOFError, ValueError, harness.HarnessError):
                return _stopped(env)  # lwipd stopping under our request

        try:
            harness.wait_for(answered_or_stopped, 3, "the reply or an assert")
        except TimeoutError:
            pass
        if env.exited() is not None:
            break
    try:
        harness.wait_for(lambda: _stopped(env), 1, "an assert's report")
    except TimeoutError:
        pass
    evidence = {"requests": COUNT, "frames_each": nfrag + 1}
    out = _crashed(env, evidence)
    if out:
        return out
    frag = env.stats()["lwip"]["ip_frag"]
    evidence["ip_frag"] = frag
    if frag["recv"] < COUNT * (nfrag + 1):
        raise RuntimeError("lwIP saw %d fragments, %d sent" %
                           (frag["recv"], COUNT * (nfrag + 1)))
    seqs = _replies(_h_net.captured(env))
    evidence["reply_seqs"] = seqs
    if sorted(seqs) != list(range(1, COUNT + 1)):
        return env.outcome(True, "echo replies %r, expected one per request"
                           % seqs, evidence)
    return env.outcome(False, "each request answered once, the %d "
                       "duplicates dropped (ip_frag.drop %d), lwipd alive" %
                       (COUNT, frag["drop"]), evidence)
