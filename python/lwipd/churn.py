# SPDX-License-Identifier: MIT
"""Socket churn against lwipd's churn server (lwipd --churn, port 7777)
with the host's lwipd-churn client, and the socket slot checks that go
with it (`sockets probe`: a slot lwIP can no longer reuse is stuck)."""
import json
import os

from . import config
from .config import TIME_SCALE, LwipdError
from .waiting import wait_for

PORT = 7777
# lwipd's churn server with a closer that races its selector thread.
RACE = ("--churn", "--churn-close", "idle=20,requests=1,random=2")
# Every pattern but clients that vanish without a FIN or RST.
NO_VANISH = "client-close,server-close,rst,half-close"


def churn(ns, d, count, patterns=NO_VANISH, concurrency=16, payload=1, timeout_ms=None,
          time_s=60):
    """Run lwipd-churn in namespace NS against daemon D: COUNT connections,
    CONCURRENCY at a time, at most TIME_S seconds; returns its JSON summary
    (exit 1, some connections failed, is a result too). Each connection may
    take TIMEOUT_MS (default 3 s, stretched by TIME_SCALE)."""
    timeout_ms = timeout_ms or int(3000 * TIME_SCALE)
    r = ns.run([config.binary("lwipd-churn"), "-c", str(concurrency), "-n", str(count),
                "-t", str(time_s), "-p", patterns, "-s", str(payload),
                "--timeout", str(timeout_ms), d.ip, str(PORT)],
               timeout=time_s + timeout_ms / 1000 + 30, check=False)
    if r.returncode not in (0, 1):
        raise LwipdError("lwipd-churn failed (%d): %s %s" % (r.returncode, r.stdout, r.stderr))
    return json.loads(r.stdout)


def churn_stats(d):
    """The churn server's counters (stats apps.churn)."""
    return d.stats()["apps"]["churn"]


def quiet(d, timeout=10):
    """Wait until the churn server holds no client socket."""
    wait_for(lambda: churn_stats(d)["in_use"] == 0, timeout,
             "the churn server to close every client socket")


def probe(d):
    """`sockets probe`: every slot tried; the answer's probe object."""
    resp = d.ctl("sockets", probe=True, timeout=30)
    return resp["probe"]


def stuck_slots(d):
    """The socket slots (fds) lwIP can no longer reuse, per `leaks`."""
    resp = d.ctl("leaks", timeout=30)
    return resp.get("leaked", {}).get("stuck_socket_slots", [])


def record_outcome(name, version, outcome, detail, directory=None):
    """Keep what a race scenario showed in DIRECTORY/churn-outcomes.json
    (default config.artifacts_dir()), whichever way it went: the result is
    the finding."""
    directory = directory or config.artifacts_dir()
    path = os.path.join(directory, "churn-outcomes.json")
    try:
        with open(path) as f:
            seen = json.load(f)
    except (OSError, ValueError):
        seen = {}
    v = ".".join(map(str, version))
    seen["%s lwIP %s" % (name, v)] = {"outcome": outcome, "detail": detail}
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(seen, f, indent=1)
    print("%s on lwIP %s: %s" % (name, v, outcome))
