# SPDX-License-Identifier: MIT
"""--config and --check-config: keys are the long options, the command line
wins, errors name the key and the line; a daemon runs from a file."""
import os

from lwipd import testing as harness


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def check(conf, *args):
    return harness.run([harness.LWIPD, "--config", conf, "--check-config"] + list(args),
                       check=False)


def test_check_config_prints_the_effective_configuration(workdir):
    conf = write(os.path.join(workdir, "a.conf"),
                 "# comment\n; comment\ntap = tap7\nip = 198.18.0.2/24\nmtu = 1400\n"
                 "fault = tx drop 10% \"arp\"\nfault = rx delay 5ms\nno-echo = true\n"
                 "no-lwiperf = false\n")
    r = check(conf, "--mtu", "1300")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    eff = {}
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            k, v = line.split(" = ", 1)
            eff.setdefault(k, []).append((v, lines[i + 1] if i + 1 < len(lines) else ""))
    assert eff["tap"][0][0] == "tap7" and "config line 3" in eff["tap"][0][1]
    assert eff["mtu"][0][0] == "1300" and "command line" in eff["mtu"][0][1]  # CLI wins
    assert [v for v, _ in eff["fault"]] == ['tx drop 10% "arp"', "rx delay 5ms"]
    assert eff["no-echo"][0][0] == "true"
    assert "no-lwiperf" not in eff  # false: left at the default
    # options not given: commented out, with the value in effect
    assert "# gw = (none)" in lines and "# ring-size = 256" in lines
    # The output is itself a config file lwipd accepts, with the same result.
    again = write(os.path.join(workdir, "b.conf"), r.stdout)
    r2 = check(again)
    assert r2.returncode == 0, r2.stderr
    assert [ln for ln in r2.stdout.splitlines() if not ln.startswith("#")] == \
        [ln for ln in lines if not ln.startswith("#")]


def test_command_line_faults_replace_the_files(workdir):
    conf = write(os.path.join(workdir, "a.conf"),
                 "tap = tap7\nip = 198.18.0.2/24\nfault = tx drop 10%\n")
    r = check(conf, "--fault", "rx drop 5%")
    assert r.returncode == 0, r.stderr
    assert "fault = rx drop 5%" in r.stdout and "tx drop 10%" not in r.stdout


def test_errors_name_the_key_and_the_line(workdir):
    cases = [
        ("tap = t\nip = 198.18.0.2/24\nbogus = 1\n", "line 3: unknown key 'bogus'"),
        ("tap = t\nip = 198.18.0.2/24\n\nmtu = 12\n", "line 4: key 'mtu': '12' is not between"),
        ("tap = t\nip = 198.18.0.2/24\ntap = u\n", "line 3: key 'tap' was already given on line 1"),
        ("tap = t\nip = 198.18.0.2/24\nno-echo = maybe\n",
         "line 3: key 'no-echo': 'maybe' is not true or false"),
        ("tap = t\n[lwipd]\nip = 198.18.0.2/24\n", "line 3: key 'ip' in section [lwipd]"),
        ("tap = t\njust words\n", "line 2: not 'key = value'"),
        ("tap = t\nconfig = /etc/other.conf\n", "line 2: key 'config' belongs on the command line"),
        ("tap = t\nip = 198.18.0.2/24\nfault = tx explode 5%\n", "line 3: key 'fault'"),
        ("tap = t\nip = 198.18.0.2/24\nuser = no-such-user-lwipd\n",
         "line 3: key 'user': no such user"),
        ("tap = t\nip = 198.18.0.2/24\ncontrol-mode = 0999\n", "line 3: key 'control-mode'"),
        ("tap = t\nip = 198.18.0.2/24\nmac = " + "0" * 1500 + "\n", "line 3: too long"),
    ]
    for i, (text, want) in enumerate(cases):
        conf = write(os.path.join(workdir, "bad%d.conf" % i), text)
        r = check(conf)
        assert r.returncode == 64, (text, r.stdout)
        assert conf in r.stderr and want in r.stderr, (want, r.stderr)


def test_conflicts_across_file_and_command_line(workdir):
    conf = write(os.path.join(workdir, "a.conf"), "tap = t\ndhcp = true\n")
    r = check(conf, "--ip", "198.18.0.2/24")
    assert r.returncode == 64
    assert "--ip conflicts with key 'dhcp' (%s line 2)" % conf in r.stderr
    conf = write(os.path.join(workdir, "b.conf"), "tap = t\ndhcp = yes\ngw = 198.18.0.1\n")
    r = check(conf)
    assert r.returncode == 64 and "key 'gw' (%s line 3)" % conf in r.stderr
    r = harness.run([harness.LWIPD, "--config", os.path.join(workdir, "missing.conf"),
                     "--check-config"], check=False)
    assert r.returncode == 64 and "No such file" in r.stderr


def test_check_config_checks_the_fault_file_and_filter(workdir):
    ff = write(os.path.join(workdir, "faults"), "tx drop 10%\nrx nonsense\n")
    conf = write(os.path.join(workdir, "a.conf"),
                 "tap = t\nip = 198.18.0.2/24\nfault-file = %s\n" % ff)
    r = check(conf)
    assert r.returncode == 64 and ff + ":2" in r.stderr, r.stderr
    conf = write(os.path.join(workdir, "b.conf"),
                 "tap = t\nip = 198.18.0.2/24\npcap-filter = not a filter at all\n")
    r = check(conf)
    assert r.returncode == 64 and "pcap-filter" in r.stderr


def test_daemon_runs_from_a_config_file(netns, workdir):
    conf = write(os.path.join(workdir, "lwipd.conf"),
                 "tap = %s\nip = 198.18.0.2/24\nno-lwiperf = true\nmac = 02:00:00:00:00:42\n"
                 "fault = tx drop 100%% \"udp port 7\"\n" % netns.tap)
    d = harness.Lwipd(netns, workdir, extra_args=["--config", conf])
    # the tap and ip come from the file: drop the harness's own
    i = d.args.index("--tap")
    del d.args[i:i + 2]
    i = d.args.index("--ip")
    del d.args[i:i + 2]
    d.start()
    try:
        st = d.request({"cmd": "status"})
        assert st["mac"] == "02:00:00:00:00:42" and st["ip"] == "198.18.0.2"
        faults = d.request({"cmd": "fault", "op": "list"})["rules"]
        assert [f["rule"] for f in faults] == ['tx drop 100% "udp port 7"']
        assert harness.ping(netns, d.ip, count=3)["received"] == 3
        # lwiperf (TCP 5001) is off, echo (TCP 7) is on
        r = netns.helper("nettools.py", "tcp-echo", d.ip, 7, 1000)
        assert r["match"] is True
        r = netns.run(["bash", "-c", "exec 3<>/dev/tcp/%s/5001" % d.ip], check=False, timeout=10)
        assert r.returncode != 0
    finally:
        assert d.stop() == 0
