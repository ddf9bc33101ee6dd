# SPDX-License-Identifier: MIT
"""Where the lwipd under test is and how the harness runs it.

The binaries come, first match wins, from configure() (the pytest plugin's
--lwipd-binary), from the build directory in $LWIPD_BUILD (daemon/lwipd,
tools/lwipctl, tools/lwipd-churn), or from PATH (an installed lwipd; /usr/sbin
and /sbin are searched too). Nothing here knows a source checkout: a build
directory says where its sources are (source_dir())."""
import json
import os
import shutil

PYTHON = "/usr/bin/python3"

# LWIPD_VALGRIND=1: every lwipd runs under valgrind's memcheck and every
# wait stretches by TIME_SCALE (LWIPD_TIME_SCALE overrides it).
VALGRIND = os.environ.get("LWIPD_VALGRIND", "") not in ("", "0")
VALGRIND_EXIT = 99
TIME_SCALE = float(os.environ.get("LWIPD_TIME_SCALE", "10" if VALGRIND else "1"))

# Where each program sits in a meson build directory.
_BUILD_PATHS = {
    "lwipd": ("daemon", "lwipd"),
    "lwipctl": ("tools", "lwipctl"),
    "lwipd-churn": ("tools", "lwipd-churn"),
}

_configured = {}  # program name -> path, from configure()
_build = None
_artifacts = None


class LwipdError(Exception):
    """A harness operation that failed: a command, a start, a request."""


def configure(build=None, artifacts=None, **binaries):
    """Point the harness at a build directory (BUILD), at the directory for
    kept artifacts (ARTIFACTS) and/or at programs by name
    (lwipd="/path/lwipd", lwipctl=...; underscores stand for dashes). Later
    calls override earlier ones; None leaves a setting alone."""
    global _build, _artifacts
    if build is not None:
        _build = os.path.abspath(build)
    if artifacts is not None:
        _artifacts = os.path.abspath(artifacts)
    for name, path in binaries.items():
        if path is not None:
            _configured[name.replace("_", "-")] = os.path.abspath(path)


def build_dir():
    """The build directory under test: configure(build=...), else
    $LWIPD_BUILD, else None (installed programs)."""
    if _build:
        return _build
    env = os.environ.get("LWIPD_BUILD")
    return os.path.abspath(env) if env else None


def artifacts_dir():
    """Where the artifacts of failed tests are kept: configure(artifacts=),
    else $LWIPD_ARTIFACTS, else BUILD/test-artifacts, else
    /tmp/lwipd-artifacts."""
    if _artifacts:
        return _artifacts
    env = os.environ.get("LWIPD_ARTIFACTS")
    if env:
        return os.path.abspath(env)
    if build_dir():
        return os.path.join(build_dir(), "test-artifacts")
    return "/tmp/lwipd-artifacts"


def binary(name):
    """The path of program NAME (lwipd, lwipctl, lwipd-churn). Raises
    LwipdError when it is found nowhere."""
    if name in _configured:
        return _configured[name]
    build = build_dir()
    if build:
        return os.path.join(build, *_BUILD_PATHS.get(name, ("tools", name)))
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    found = shutil.which(name, path=path)
    if not found:
        raise LwipdError("%s not found: set LWIPD_BUILD to a build directory, "
                         "pass --lwipd-binary, or install lwipd" % name)
    return found


def source_dir():
    """The source tree the build under test was made from (its meson-info),
    or None with no build directory."""
    build = build_dir()
    if not build:
        return None
    try:
        with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
            return json.load(f)["directories"]["source"]
    except (OSError, ValueError, KeyError) as e:
        raise LwipdError("%s is not a meson build directory: %s" % (build, e))
