# SPDX-License-Identifier: MIT
"""The man pages against the code: lwipd(8) documents exactly the options
--help lists (both come from one table in daemon/args.c) and the exit codes
it prints; lwipctl(1) documents exactly the commands a running lwipd's
"help" lists, and lwipctl's own options. Each once."""
import os
import re
import subprocess

from lwipd import testing as harness

DOC = os.path.join(harness.TOP, "doc")


def section(path, title):
    """The lines of the "# TITLE" section of an scdoc source."""
    out, inside = [], False
    with open(path) as f:
        for line in f:
            if line.startswith("# "):
                inside = line.strip() == "# " + title
                continue
            if inside:
                out.append(line.rstrip("\n"))
    assert out, "%s has no section %s" % (path, title)
    return out


def entries(lines, pattern):
    """Names of the entries (unindented lines) matching PATTERN, in order."""
    names = []
    for line in lines:
        if line and not line[0].isspace():
            names += re.findall(pattern, line)
    return names


def help_options(text):
    opts = []
    for line in text.splitlines():
        m = re.match(r"\s+(?:-\w, )?--([a-z0-9-]+)", line)
        if m:
            opts.append(m.group(1))
    return opts


def test_lwipd_options_match_help():
    man = entries(section(os.path.join(DOC, "lwipd.8.scd"), "OPTIONS"), r"\*--([a-z0-9-]+)\*")
    helped = help_options(harness.run([harness.LWIPD, "--help"]).stdout)
    dupes = sorted({o for o in man if man.count(o) > 1})
    assert not dupes, "documented more than once: %s" % dupes
    assert sorted(man) == sorted(helped), (
        "only in lwipd(8): %s; only in --help: %s" % (
            sorted(set(man) - set(helped)), sorted(set(helped) - set(man))))
    assert len(helped) > 50


def test_lwipd_exit_codes_match_help():
    man = entries(section(os.path.join(DOC, "lwipd.8.scd"), "EXIT STATUS"), r"^\*(\d+)\*$")
    text = harness.run([harness.LWIPD, "--help"]).stdout
    helped = re.findall(r"^  (\d+) ", text.split("Exit status:")[1], re.M)
    assert sorted(map(int, man)) == sorted(map(int, helped)) and len(man) == len(set(man))
    header = open(os.path.join(harness.TOP, "daemon", "args.h")).read()
    defined = {int(v) for v in re.findall(r"#define LWIPD_EXIT_\w+ +(\d+)", header)}
    assert defined <= set(map(int, man)), defined - set(map(int, man))


def test_lwipd_signals_and_files_are_documented():
    sig = entries(section(os.path.join(DOC, "lwipd.8.scd"), "SIGNALS"), r"\*(SIG[A-Z]+)\*")
    assert {"SIGTERM", "SIGINT", "SIGHUP"} <= set(sig)
    files = "\n".join(section(os.path.join(DOC, "lwipd.8.scd"), "FILES"))
    for f in ("/etc/lwipd/TAP.conf", "/run/lwipd/TAP.sock", "lwipd-crash-", "/dev/net/tun"):
        assert f in files, f


def test_lwipctl_commands_match_the_daemon(lwipd):
    man = entries(section(os.path.join(DOC, "lwipctl.1.scd"), "COMMANDS"), r"^\*([a-z0-9-]+)\*")
    dupes = sorted({c for c in man if man.count(c) > 1})
    assert not dupes, dupes
    served = lwipd.request({"cmd": "help"})["commands"]
    client_only = {"raw", "report", "wait"}  # report, wait: lwipctl itself
    assert sorted(set(man) - client_only) == sorted(served), (
        "only in lwipctl(1): %s; only in lwipd: %s" % (
            sorted(set(man) - set(served)), sorted(set(served) - set(man))))


def test_lwipctl_options_match_help():
    man = entries(section(os.path.join(DOC, "lwipctl.1.scd"), "OPTIONS"), r"\*--([a-z0-9-]+)\*")
    helped = help_options(harness.run([harness.LWIPCTL, "--help"]).stdout.split("Commands:")[0])
    assert sorted(man) == sorted(helped), (man, helped)


def test_lwipd_report_options_match_help():
    man = entries(section(os.path.join(DOC, "lwipd-report.1.scd"), "OPTIONS"),
                  r"\*--([a-z0-9-]+)\*")
    helped = re.findall(r"^\s+(?:-\w(?: \S+)?, )?--([a-z0-9-]+)",
                        harness.run([harness.PYTHON, harness.REPORT, "--help"]).stdout, re.M)
    assert sorted(man) == sorted(helped) and len(man) >= 5, (man, helped)


def test_man_pages_are_built_and_render():
    for page in ("lwipd.8", "lwipctl.1", "lwipd-report.1"):
        path = os.path.join(harness.BUILD, "doc", page)
        assert os.path.exists(path), "%s not built (scdoc missing? scripts/bootstrap)" % path
        r = subprocess.run(["man", "-l", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=dict(os.environ, MANWIDTH="80"), timeout=30)
        assert r.returncode == 0 and "SYNOPSIS" in r.stdout, r.stderr
