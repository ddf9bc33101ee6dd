# SPDX-License-Identifier: MIT
"""Bounded polls: the one way the harness waits for something."""
import time


def wait_for(pred, timeout, what="the condition", interval=0.02):
    """Call PRED every INTERVAL seconds until it returns a true value, which
    is returned, or TIMEOUT seconds pass: then TimeoutError names WHAT."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)
