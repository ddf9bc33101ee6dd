# SPDX-License-Identifier: MIT
"""Socket churn: 2000 connections opened and closed against lwipd's churn
server by the host's lwipd-churn; afterwards no socket slot is stuck."""
import pytest

from lwipd import churn


@pytest.mark.lwipd(args=["--churn"])
def test_socket_churn_leaves_no_stuck_slot(lwipd):
    res = churn.churn(lwipd.ns, lwipd, 2000, concurrency=8)
    assert res["ok"] > 0, res
    churn.quiet(lwipd)
    assert churn.stuck_slots(lwipd) == []
    assert churn.churn_stats(lwipd)["accepted"] >= res["ok"]
