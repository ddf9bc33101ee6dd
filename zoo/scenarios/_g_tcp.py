# SPDX-License-Identifier: MIT
"""TCP segments from a capture, for the zoo's TCP scenarios."""
import socket
import struct

TCP_SACK_PERM, TCP_SACK = 4, 5


def tcp_segments(frames, lwip_ip):
    """The TCP segments among FRAMES (harness.read_pcap's list) as dicts:
    ts, from_lwip, host_port (the host's end), seq, ack, flags, win
    (unscaled), len
    (payload bytes, from the IP header, so right with a short snaplen) and
    options (the option kinds in order)."""
    lip = socket.inet_aton(lwip_ip)
    out = []
    for ts, f in frames:
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        ihl = (f[14] & 0x0F) * 4
        t = 14 + ihl
        sport, dport, seq, ack = struct.unpack(">HHII", f[t:t + 12])
        off = (f[t + 12] >> 4) * 4
        kinds, i = [], t + 20
        while i < min(t + off, len(f)):
            k = f[i]
            if k == 0:
                break
            if k == 1:
                i += 1
                continue
            kinds.append(k)
            if i + 1 >= len(f) or f[i + 1] < 2:
                break
            i += f[i + 1]
        from_lwip = f[26:30] == lip
        total = struct.unpack(">H", f[16:18])[0]
        out.append({"ts": ts, "from_lwip": from_lwip,
                    "host_port": dport if from_lwip else sport,
                    "seq": seq, "ack": ack, "flags": f[t + 13],
                    "win": struct.unpack(">H", f[t + 14:t + 16])[0],
                    "len": total - ihl - off, "options": kinds})
    return out


def host_data_stalls(segs, host_port, min_gap=0.5):
    """The silences of at least MIN_GAP s in the host's data on the
    connection from HOST_PORT, each as (seconds, the sequence number the
    host sent next, lwIP's last ACK before it): a stall that ends with
    seq == ack ended with a retransmission of lwIP's ACK point."""
    stalls, last_data, last_ack = [], None, None
    for s in segs:
        if s["host_port"] != host_port:
            continue
        if s["from_lwip"]:
            if s["flags"] & 0x10:
                last_ack = s["ack"]
            continue
        if s["len"] <= 0:
            continue
        if last_data is not None and s["ts"] - last_data >= min_gap:
            stalls.append((s["ts"] - last_data, s["seq"], last_ack))
        last_data = s["ts"]
    return stalls


def backoff_chain(stalls, factor=1.8):
    """The longest run of consecutive stalls, each ended by a retransmission
    of lwIP's ACK point and each at least FACTOR times the one before: the
    retransmission timeout backing off. Returns the gaps (s)."""
    best, run = [], []
    for gap, seq, ack in stalls:
        if seq != ack:
            run = []
            continue
        if run and gap >= factor * run[-1]:
            run.append(gap)
        else:
            run = [gap]
        if len(run) > len(best):
            best = list(run)
    return best
