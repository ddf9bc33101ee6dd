# SPDX-License-Identifier: MIT
"""The README's "Testing your firmware", step by step, on the MQTT example:
an lwipd with lwIP's MQTT client (-Dlwip_apps=mqtt) installed with `meson
install --destdir`, examples/mqtt-telemetry built out of tree against it
with pkg-config, run by the installed lwipd with --app against mosquitto
in the namespace while 5 % of frames are lost each way and the cable is
pulled twice; then the results read as the README says (`lwipctl app
mqtt_telemetry status`, `lwipctl stats`) and checked against what
mosquitto_sub received: every sample at least once (QoS 1)."""
import json
import os
import subprocess

import pytest

from lwipd import testing as harness

EXAMPLE = os.path.join(harness.TOP, "examples", "mqtt-telemetry")
APP = "mqtt_telemetry"
TOPIC = "lwipd/telemetry"
N = 120           # samples
INTERVAL_MS = 100  # one sample each
GRACE_MS = 800    # a link down this long drops the session
PULLS = 2


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """{"lwipd": the installed lwipd, "app": the example's module}: the
    build of test_lwip_apps (all of lwIP's apps) when the tree has them all,
    else one with the MQTT client only."""
    try:
        build = harness.lwip_apps_build()
    except harness.HarnessError as e:
        if "has no" not in str(e):
            raise
        build = harness.lwip_apps_build(("mqtt",))
    top = tmp_path_factory.mktemp("mqttapp")
    root = str(top / "root")
    lwipd = harness.install_build(build, root)
    app = os.path.join(harness.build_example(root, EXAMPLE, str(top / "app")), APP + ".so")
    return {"lwipd": lwipd, "app": app}


def lwipctl_json(d, *args):
    r = d.lwipctl("--json", *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def status(d):
    """`lwipctl app mqtt_telemetry status`: the app's own answer."""
    resp = lwipctl_json(d, "app", APP, "status")
    assert resp["ok"], resp
    return resp["reply"]


def wait_status(d, pred, timeout, what):
    """Poll the app's status until PRED(status) holds (TIMEOUT seconds,
    scaled under valgrind); the last status."""
    last = {}
    timeout *= harness.TIME_SCALE

    def check():
        last.clear()
        last.update(status(d))
        return pred(last)

    try:
        harness.wait_for(check, timeout, what, interval=0.1)
    except TimeoutError:
        raise AssertionError("%s: not after %ss; status %s" % (what, timeout, last))
    return last


def received_seqs(path):
    """The sequence numbers of the samples mosquitto_sub printed (-v:
    "TOPIC PAYLOAD" lines), with their tries."""
    seqs = []
    with open(path, errors="replace") as f:
        for line in f:
            topic, _, payload = line.strip().partition(" ")
            if topic == TOPIC:
                msg = json.loads(payload)
                seqs.append((msg["seq"], msg["try"]))
    return seqs


def test_telemetry_every_sample_at_least_once_through_loss_and_cable_pulls(
        netns, lwipd_factory, workdir, installed):
    broker = harness.start_mosquitto(netns, workdir)
    sub_out = os.path.join(workdir, "mosquitto_sub.out")
    sub = None
    try:
        with open(sub_out, "w") as out:
            sub = netns.popen(["mosquitto_sub", "-h", harness.HOST_IP, "-t", TOPIC, "-q", "1",
                               "-v", "-i", "lwipd-test-sub"], stdout=out,
                              stderr=subprocess.STDOUT)
        harness.wait_for(lambda: harness.mosquitto_subscriptions(workdir) >= 1, 10,
                         "mosquitto_sub to subscribe")
        args = "broker=%s,topic=%s,count=%d,interval_ms=%d,grace_ms=%d" % (
            harness.HOST_IP, TOPIC, N, INTERVAL_MS, GRACE_MS)
        d = lwipd_factory("--app", installed["app"] + ":" + args,
                          "--fault", "rx drop 5%", "--fault", "tx drop 5%",
                          binary=installed["lwipd"])
        assert "'%s' started" % APP in d.read_log()

        # Pull the cable twice while samples are being published, each time
        # from a connected session that has had acknowledgements.
        sent_in_outage = 0
        acked = 0
        for k in range(PULLS):
            wait_status(d, lambda s: s["state"] == "connected" and
                        s["counters"]["acked"] >= acked + 15, 30,
                        "a session with 15 more samples acknowledged (pull %d)" % (k + 1))
            assert d.lwipctl("link", "down").returncode == 0
            before = status(d)["counters"]
            # A sample published while the link is down cannot be
            # acknowledged: it is in flight when the session is dropped.
            st = wait_status(d, lambda s: s["state"] != "connected" or
                             s["counters"]["published"] > before["published"], 10,
                             "a publication during the outage, or the session's end")
            if st["counters"]["published"] > before["published"]:
                sent_in_outage += 1
            st = wait_status(d, lambda s: s["state"] != "connected", 10,
                             "the session dropped with the link (pull %d)" % (k + 1))
            assert not st["link"] and st["counters"]["link_losses"] == k + 1, st
            assert d.lwipctl("link", "up").returncode == 0
            st = wait_status(d, lambda s: s["counters"]["reconnects"] >= k + 1, 30,
                             "a reconnect after pull %d" % (k + 1))
            acked = st["counters"]["acked"]

        final = wait_status(d, lambda s: s["done"], 60, "all %d samples acknowledged" % N)
        harness.wait_for(lambda: {s for s, _ in received_seqs(sub_out)} >= set(range(1, N + 1)),
                         20, "mosquitto_sub to receive samples 1..%d" % N)
        # The README's last step: the counters in `lwipctl stats` too.
        everything = lwipctl_json(d, "stats")["stats"]
        stats = everything["apps"][APP]
        rules = everything["fault"]["rules"]
        got = received_seqs(sub_out)
        c = final["counters"]
        print("counters %s; mosquitto_sub got %d messages for %d samples (%d repeats, "
              "%d with try > 1); frames dropped/seen %s" % (
                  json.dumps(c), len(got), N, len(got) - len({s for s, _ in got}),
                  sum(1 for _, t in got if t > 1),
                  ["%d/%d" % (r["acted"], r["matched"]) for r in rules]))

        assert {s for s, _ in got} == set(range(1, N + 1))
        assert c["samples"] == N and c["acked"] == N and c["pending"] == 0
        assert final["state"] == "connected" and final["in_flight"] == 0
        assert c["link_losses"] == PULLS
        # Each pull ended a session (dropped by the app after the grace, or
        # by lwIP's client on its own) and a new one was made after it.
        assert c["reconnects"] >= PULLS and c["connects"] == c["reconnects"] + 1
        assert c["disconnects"] >= PULLS
        # At least once: every sample published once, and again for every
        # time it was in flight on a session that ended.
        assert c["published"] == N + c["resent"]
        assert c["resent"] >= c["in_flight_lost"] >= sent_in_outage
        assert {k: stats[k] for k in c} == c  # lwipctl stats: the same counters
        # Frames were lost (~90 each way here: at 5 %, none lost in both is a 1e-4 chance).
        assert len(rules) == 2 and sum(r["acted"] for r in rules) > 0, rules
        # The app unloaded: its connection closed, lwIP's pools and heap back
        # to their baseline, taken at ready once start() returned (no `leaks
        # reset` as in test_app: this app has no thread allocating later;
        # what start() allocated is freed by stop(), below the baseline).
        resp = lwipctl_json(d, "app", "unload", APP)
        assert resp["ok"], resp
        assert APP not in d.stats()["apps"]
        ok, leaks = d.wait_leaks_clean()
        assert ok, leaks
    finally:
        if sub is not None:
            harness.stop_process(sub)
        harness.stop_process(broker)
