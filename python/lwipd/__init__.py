# SPDX-License-Identifier: MIT
"""lwipd's Python package: run lwipd in a network namespace and test it.

    import lwipd
    with lwipd.Namespace() as ns, lwipd.Daemon(ns) as d:
        print(d.ctl("status")["ip"])

Modules: netns (Namespace), daemon (Daemon, the control client), capture
(captures as scapy packets with direction and lwipd's comments), waiting
(wait_for), config (where the binaries are), churn (socket churn),
pytest_plugin (the lwipd fixture), testing (all of it under the names of
the project's tests), and the readers of what a run leaves (runfiles,
report)."""
from .config import LwipdError, configure
from .daemon import ControlError, Daemon
from .netns import Namespace
from .waiting import wait_for

__all__ = ["ControlError", "Daemon", "LwipdError", "Namespace", "configure", "wait_for"]
