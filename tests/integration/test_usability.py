# SPDX-License-Identifier: MIT
"""The small things a new user trips over: lwipctl's help and socket table,
global options after the command, the schema version in every answer and
event, quiet client logging, netem's words and "both", the missing /LEN
and the missing %, and the man pages that say all of it."""
import json
import os
import re
import subprocess

from lwipd import testing as harness

DOC = os.path.join(harness.TOP, "doc")


def doc_text(name):
    with open(os.path.join(DOC, name)) as f:
        return f.read()


def test_help_prints_one_command_a_line(lwipd):
    served = lwipd.request({"cmd": "help"})["commands"]
    r = lwipd.lwipctl("help")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(served), r.stdout
    for line, (name, what) in zip(lines, served.items()):
        assert line.split()[0] == name and line.rstrip().endswith(what), line


def test_sockets_shows_the_used_slots_unless_all(netns, lwipd_factory):
    d = lwipd_factory("--churn")  # its listener holds one slot
    resp = d.request({"cmd": "sockets"})
    if resp["table"] is None:
        assert d.lwipctl("sockets").returncode == 0
        return  # lwIP 2.0.x keeps its socket array private: nothing to filter
    used = [e["fd"] for e in resp["table"] if e["conn"]]
    assert used and len(used) < resp["num_sockets"], resp["table"][:3]

    def rows(out):
        return re.findall(r"^\s+- fd=(\d+)", out, re.M)

    r = d.lwipctl("sockets")
    assert r.returncode == 0, r.stderr
    assert list(map(int, rows(r.stdout))) == used, r.stdout
    assert "%d of %d slots in use" % (len(used), resp["num_sockets"]) in r.stdout
    for args in (("sockets", "--all"), ("--json", "sockets")):
        r = d.lwipctl(*args)
        assert r.returncode == 0, r.stderr
    assert len(rows(d.lwipctl("sockets", "--all").stdout)) == resp["num_sockets"]
    # The JSON is the daemon's, whole: scripts see every slot.
    assert len(json.loads(r.stdout)["table"]) == resp["num_sockets"]


def test_global_options_after_the_command(lwipd):
    # Before the command, after it, in both forms; the socket path too.
    for args in (["--json", "stats"], ["stats", "--json"], ["stats", "-j"],
                 ["stats", "--timeout", "5", "--json"], ["stats", "--timeout=5", "-j"]):
        r = lwipd.lwipctl(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert json.loads(r.stdout)["ok"] is True, args
    r = harness.run([harness.LWIPCTL, "status", "--json", "--socket", lwipd.control], check=False)
    assert r.returncode == 0 and json.loads(r.stdout)["ip"] == lwipd.ip, r.stderr
    # A real argument error is still one, and a bad global option value too.
    assert lwipd.lwipctl("stats", "now").returncode == 64
    r = lwipd.lwipctl("stats", "--timeout", "never")
    assert r.returncode == 64 and "--timeout" in r.stderr, r.stderr
    assert lwipd.lwipctl("stats", "--timeout").returncode == 64
    # "--" ends the options: what follows is the command's.
    r = lwipd.lwipctl("capture", "mark", "--", "--json")
    assert r.returncode != 64, r.stderr
    # iperf3's short options stay iperf3's: -t is its --time, not --timeout.
    r = harness.run([harness.LWIPCTL, "-s", lwipd.control, "iperf3", "-t", "1"], check=False)
    assert r.returncode == 64 and "--client" in r.stderr, r.stderr


def test_every_answer_and_event_carries_the_api_version(netns, lwipd_factory, workdir):
    events = os.path.join(workdir, "events.jsonl")
    d = lwipd_factory("--events", events)
    for req in ({"cmd": "status"}, {"cmd": "stats"}, {"cmd": "no-such"}, {"cmd": "fault"},
                {"cmd": "ping", "host": harness.HOST_IP, "count": 1}, {"cmd": "help"}):
        resp = d.request(req)
        assert resp.get("api") == 1, (req, resp)
    with harness.ControlClient(d.control) as c:  # refused before any command runs
        c.send_raw(b"{" + b" " * 70000 + b"\n")
        resp = c.read_line()
    assert resp["ok"] is False and resp["api"] == 1, resp
    d.lwipctl("capture", "mark", "api check")
    d.lwipctl("link", "down")
    d.lwipctl("link", "up")

    def logged():
        try:
            with open(events) as f:
                return [json.loads(ln) for ln in f if ln.strip()]
        except OSError:
            return []

    harness.wait_for(lambda: any(e["type"] == "link" for e in logged()), 10, "a link event")
    evs = logged()
    assert evs and all(e.get("api") == 1 for e in evs), [e for e in evs if e.get("api") != 1]


def test_connecting_clients_are_not_logged_at_info(lwipd):
    for _ in range(3):
        assert lwipd.lwipctl("status").returncode == 0
    lwipd.lwipctl("stats")  # answered after the three before it were logged, if they were
    assert "connected" not in lwipd.read_log(), lwipd.read_log()


def test_connecting_clients_are_logged_at_debug(netns, lwipd_factory):
    d = lwipd_factory("--log-level", "debug")
    assert d.lwipctl("status").returncode == 0
    harness.wait_for(lambda: "connected (" in d.read_log(), 10, "the debug line")


def test_netem_words_and_both_directions(lwipd):
    r = lwipd.lwipctl("fault", "add", 'both loss 100% "icmp"')
    assert r.returncode == 0, r.stderr
    r = lwipd.lwipctl("fault", "add", "tx", "duplicate", "5%")
    assert r.returncode == 0, r.stderr
    rules = [x["rule"] for x in lwipd.request({"cmd": "fault", "op": "list"})["rules"]]
    assert rules == ['rx drop 100% "icmp"', 'tx drop 100% "icmp"', "tx dup 5%"], rules
    human = lwipd.lwipctl("fault", "list").stdout
    assert 'rx drop 100% "icmp"' in human and 'tx drop 100% "icmp"' in human, human
    # Both ways dropped: lwIP's pings get no answer.
    resp = lwipd.request({"cmd": "ping", "host": harness.HOST_IP, "count": 2,
                          "interval_ms": 100}, timeout=20)
    assert resp["ok"] and resp.get("received", 0) == 0, resp
    r = harness.run([harness.LWIPD, "--tap", "t", "--ip", "198.18.0.2/24", "--fault",
                     "both duplicate 1%", "--check-config"], check=False)
    assert r.returncode == 0 and "fault = both duplicate 1%" in r.stdout, r.stdout + r.stderr


def test_ip_without_prefix_length_is_refused():
    r = harness.run([harness.LWIPD, "--tap", "t", "--ip", "198.18.0.2", "--check-config"],
                    check=False)
    assert r.returncode == 64 and "no /LEN" in r.stderr, r.stderr
    r = harness.run([harness.LWIPD, "--tap", "t", "--ip", "198.18.0.2/24", "--check-config"],
                    check=False)
    assert r.returncode == 0, r.stderr


def test_a_probability_without_percent_says_so(lwipd):
    r = lwipd.lwipctl("fault", "add", "tx drop 1")
    assert r.returncode == 1 and "needs its % sign: write 1%" in r.stderr, r.stderr
    r = harness.run([harness.LWIPD, "--tap", "t", "--ip", "198.18.0.2/24", "--fault",
                     "rx dup 3", "--check-config"], check=False)
    assert r.returncode == 64 and "write 3%" in r.stderr, r.stderr


def test_lwipd_man_page_documents_fault_parameters_and_events():
    man = doc_text("lwipd.8.scd")
    assert "see README" not in harness.run([harness.LWIPD, "--help"]).stdout
    for words in ("gilbert", "_K%_", "_H%_", "_GAP_", "_BURST_", "*bits* _N_", "*loss*",
                  "*duplicate*", "*both*", "# EVENTS LOG"):
        assert words in man, words
    events = man.split("# EVENTS LOG")[1].split("\n# ")[0]
    for field in ("api", "seq", "ts_ns", "type"):
        assert "*%s*" % field in events, field


def test_lwipctl_man_page_documents_the_json_fields():
    man = doc_text("lwipctl.1.scd")
    assert "# JSON" in man
    body = man.split("# JSON")[1].split("\n# ")[0]
    assert "*api*" in body and "*ok*" in body and "*error*" in body
    for cmd in ("status", "stats", "fault list", "sockets", "help"):
        assert cmd in body, cmd


def test_lwipd_churn_has_a_man_page():
    path = os.path.join(harness.BUILD, "doc", "lwipd-churn.1")
    assert os.path.exists(path), "%s not built (scdoc missing? scripts/bootstrap)" % path
    r = subprocess.run(["man", "-l", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=dict(os.environ, MANWIDTH="80"), timeout=30)
    assert r.returncode == 0 and "SYNOPSIS" in r.stdout, r.stderr
    helped = re.findall(r"^\s+(?:-\w, )?--([a-z-]+)",
                        harness.run([harness.CHURN,
                                     "--help"]).stdout, re.M)
    options = doc_text("lwipd-churn.1.scd").split("# OPTIONS")[1].split("\n# ")[0]
    man = re.findall(r"^\*(?:-\w\*, \*)?--([a-z-]+)\*", options, re.M)
    assert sorted(man) == sorted(helped), (man, helped)
    with open(os.path.join(harness.TOP, "debian", "lwipd.lintian-overrides")) as f:
        assert "no-manual-page" not in f.read()
