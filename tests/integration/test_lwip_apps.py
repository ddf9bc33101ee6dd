# SPDX-License-Identifier: MIT
"""lwIP's own apps (-Dlwip_apps) against real host tools, each in its own
namespace: curl for httpd, a scripted SNTP server for sntp, dig for the
mDNS responder, tftp-hpa for the TFTP server and mosquitto for the MQTT
client (with a cable pull and the reconnect it causes).

The apps run from the build under test when it has them all; otherwise
from a variant of it built with them (harness.variant_build), so the tests
run on every lwIP version the suite is run on."""
import json
import os
import subprocess

import pytest

from lwipd import testing as harness

ALL_APPS = harness.LWIP_APPS
HOST = harness.HOST_IP
# 2030-01-01T00:00:00Z plus a few seconds: a time no clock had by chance.
SNTP_TIME = 1893456000 + 4242


@pytest.fixture(scope="module")
def apps_binary():
    """lwipd with all of ALL_APPS built in (see the module's docstring)."""
    try:
        return os.path.join(harness.lwip_apps_build(), "daemon", "lwipd")
    except harness.HarnessError as e:
        if "has no" in str(e):  # the tree under test lacks an app: meson said which
            pytest.skip("the lwIP tree under test lacks an app: %s" % str(e)[-300:])
        raise


def app_stats(d, app):
    return d.stats()["apps"]["lwip"][app]


stop = harness.stop_process


# ---- httpd -------------------------------------------------------------------

def curl(ns, url):
    r = ns.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", url],
               timeout=20, check=False)
    assert r.returncode == 0, r.stderr
    body, code = r.stdout.rsplit("\n", 1)
    return int(code), body


def test_httpd_serves_its_pages_and_a_404(netns, lwipd_factory, apps_binary):
    d = lwipd_factory("--httpd", binary=apps_binary)
    code, body = curl(netns, "http://%s/" % d.ip)
    assert code == 200 and "lwIP" in body and "<html>" in body.lower()
    code, body = curl(netns, "http://%s/no/such/page.html" % d.ip)
    assert code == 404 and "404" in body
    st = app_stats(d, "httpd")
    assert st["running"] and st["port"] == 80
    # /index.html, /no/such/page.html, then lwIP's /404.html for it
    assert st["file_opens"] >= 3 and st["last_path"] == "/404.html"


# ---- sntp --------------------------------------------------------------------

def test_sntp_sets_the_time_the_host_serves(netns, lwipd_factory, apps_binary):
    server = netns.popen([harness.PYTHON, harness.helper_path("sntp_server.py"),
                          HOST, str(SNTP_TIME), "1", "30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # lwIP asks at once; a request before the bind would wait for its retry.
        harness.wait_for(lambda: netns.run(["ss", "-Hlun", "src", HOST + ":123"]).stdout.strip(),
                         10, "the SNTP server to bind")
        d = lwipd_factory("--sntp", HOST, binary=apps_binary)
        harness.wait_for(lambda: app_stats(d, "sntp")["updates"] >= 1, 20,
                         "lwIP's SNTP client to take the host's time")
        st = app_stats(d, "sntp")
        out, err = stop(server, timeout=30)
    finally:
        stop(server)
    assert st["server"] == HOST and st["time"] == SNTP_TIME and st["updates"] == 1
    # The client's one UDP PCB, made once the link was up (after ready), is
    # all lwIP holds beyond its baseline.
    harness.wait_for(lambda: d.request({"cmd": "leaks"})["leaked"] == {"UDP_PCB": 1}, 10,
                     "lwIP to hold only the SNTP client's PCB beyond its baseline")
    d.check_leaks = False  # checked above, with the PCB the client keeps
    served = json.loads(out)
    assert served["answered"] == 1, err
    assert served["requests"][0]["from"] == d.ip and served["requests"][0]["mode"] == 3


# ---- mdns --------------------------------------------------------------------

def dig(ns, ip, *query):
    r = ns.run(["dig", "-p", "5353", "@" + ip, "+short", "+time=1", "+tries=1"] + list(query),
               timeout=10, check=False)
    return r.stdout.split() if r.returncode == 0 else []


def test_mdns_answers_for_its_name_and_service(netns, lwipd_factory, apps_binary):
    d = lwipd_factory("--mdns", "lwipd-test", binary=apps_binary)
    harness.wait_for(lambda: dig(netns, d.ip, "lwipd-test.local", "A") == [d.ip], 15,
                     "lwIP's responder to answer lwipd-test.local")
    ptr = dig(netns, d.ip, "_lwipd._tcp.local", "PTR")
    assert ptr == ["lwipd-test._lwipd._tcp.local."]
    srv = dig(netns, d.ip, "lwipd-test._lwipd._tcp.local", "SRV")
    assert srv[-2:] == ["7", "lwipd-test.local."]
    st = app_stats(d, "mdns")
    assert st["running"] and st["name"] == "lwipd-test"
    assert st["probe"] in ("none", "ok")  # 2.0 does not probe


# ---- tftp --------------------------------------------------------------------

def tftp(ns, cwd, *command):
    r = harness.run(ns.cmd(["tftp", "-m", "binary", harness.LWIP_IP, "-c"] + list(command)),
                    timeout=60, check=False, cwd=cwd)
    return r.returncode, r.stdout + r.stderr


def test_tftp_get_put_and_a_path_outside_refused(netns, lwipd_factory, apps_binary, workdir):
    root = os.path.join(workdir, "served")
    client = os.path.join(workdir, "client")
    os.makedirs(root)
    os.makedirs(client)
    data = os.urandom(5000)  # 9 full blocks and a short one
    with open(os.path.join(root, "firmware.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(workdir, "secret.txt"), "w") as f:
        f.write("outside the served directory\n")
    up = os.urandom(3000)
    with open(os.path.join(client, "log.bin"), "wb") as f:
        f.write(up)
    d = lwipd_factory("--tftp-server", root, binary=apps_binary)

    rc, out = tftp(netns, client, "get", "firmware.bin", "got.bin")
    with open(os.path.join(client, "got.bin"), "rb") as f:
        assert f.read() == data, out
    rc, out = tftp(netns, client, "put", "log.bin", "uploaded.bin")
    harness.wait_for(lambda: app_stats(d, "tftp")["bytes_received"] == len(up), 10,
                     "lwIP to write the 3000 bytes")
    with open(os.path.join(root, "uploaded.bin"), "rb") as f:
        assert f.read() == up, out
    rc, out = tftp(netns, client, "get", "../secret.txt", "stolen.txt")
    assert "Error" in out or rc != 0
    stolen = os.path.join(client, "stolen.txt")
    assert not os.path.exists(stolen) or os.path.getsize(stolen) == 0
    st = app_stats(d, "tftp")
    assert st["reads"] == 1 and st["writes"] == 1 and st["bytes_sent"] == len(data)
    assert st["refused"] == 1 and st["last_refused"] == "../secret.txt"


# ---- mqtt --------------------------------------------------------------------

TOPIC = "lwipd/counter"


def subscribe(ns, count):
    """mosquitto_sub for COUNT messages of TOPIC (QoS 1), at most 20 s."""
    return ns.popen(["mosquitto_sub", "-h", HOST, "-t", TOPIC, "-q", "1", "-C", str(count),
                     "-W", "20", "-i", "lwipd-test-sub-%d" % count],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def received(sub):
    out, err = sub.communicate(timeout=30)
    assert sub.returncode == 0, "mosquitto_sub: %s %s" % (sub.returncode, err)
    return [int(x) for x in out.split()]


def wait_subscribed(workdir, n):
    harness.wait_for(lambda: harness.mosquitto_subscriptions(workdir) >= n, 10,
                     "mosquitto_sub to subscribe")


def test_mqtt_publishes_and_reconnects_after_a_cable_pull(netns, lwipd_factory, apps_binary,
                                                          workdir):
    broker = harness.start_mosquitto(netns, workdir)
    subs = []
    try:
        subs.append(subscribe(netns, 3))
        d = lwipd_factory("--mqtt-pub", "%s:%s:100" % (HOST, TOPIC), binary=apps_binary)
        first = received(subs[0])
        assert len(first) == 3 and first == list(range(first[0], first[0] + 3))
        harness.wait_for(lambda: app_stats(d, "mqtt")["acked"] >= 3, 10, "3 PUBACKs")

        assert d.lwipctl("link", "down").returncode == 0
        harness.wait_for(lambda: app_stats(d, "mqtt")["state"] == "idle", 10,
                         "the publisher to drop its connection with the link")
        subs.append(subscribe(netns, 3))
        wait_subscribed(workdir, 2)
        assert d.lwipctl("link", "up").returncode == 0
        second = received(subs[1])
        assert len(second) == 3 and second[0] > first[-1]
        st = app_stats(d, "mqtt")
        assert st["link_losses"] == 1 and st["reconnects"] == 1 and st["connects"] == 2
        assert st["state"] == "connected" and st["acked"] >= 6
        assert st["published"] >= st["acked"] and st["topic"] == TOPIC
    finally:
        for s in subs:
            stop(s)
        stop(broker)


# ---- builds ------------------------------------------------------------------

def test_a_switch_without_its_app_is_a_usage_error(apps_binary):
    built = harness.build_options().get("lwip_apps") or []
    missing = [a for a in ALL_APPS if a not in built]
    if not missing:
        pytest.skip("the build under test has every app (-Dlwip_apps=%s)" % ",".join(built))
    switch = {"httpd": ["--httpd"], "sntp": ["--sntp", HOST], "mdns": ["--mdns", "x"],
              "tftp": ["--tftp-server", "/tmp"], "mqtt": ["--mqtt-pub", HOST + ":t:100"]}
    for app in missing:
        r = harness.run([harness.LWIPD, "--tap", "t0", "--ip", harness.LWIP_IP + "/24",
                         "--check-config"] + switch[app], check=False)
        assert r.returncode == 64
        assert "built without -Dlwip_apps=%s" % app in r.stderr
    r = harness.run([apps_binary, "--tap", "t0", "--ip", harness.LWIP_IP + "/24",
                     "--check-config", "--httpd", "--mdns", "x"], check=False)
    assert r.returncode == 0, r.stderr


def test_a_tree_without_an_app_names_both(tmp_path):
    """port/lwip-files.py --app (meson's check): a tree whose Filelists.mk
    lacks an app is refused with the version and the app."""
    inc = tmp_path / "src" / "include" / "lwip"
    inc.mkdir(parents=True)
    (inc / "init.h").write_text("#define LWIP_VERSION_MAJOR 2\n#define LWIP_VERSION_MINOR 0\n"
                                "#define LWIP_VERSION_REVISION 9\n")
    (tmp_path / "src" / "Filelists.mk").write_text("SNTPFILES=$(LWIPDIR)/apps/sntp/sntp.c\n")
    r = harness.run([harness.PYTHON, os.path.join(harness.TOP, "port", "lwip-files.py"),
                     "--app", str(tmp_path), "tftp"], check=False)
    assert r.returncode == 2 and "lwIP 2.0.9 has no tftp app" in r.stderr
