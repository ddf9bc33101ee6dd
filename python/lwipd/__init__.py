# SPDX-License-Identifier: MIT
"""Readers for what an lwipd run leaves behind (captures, events and stats
logs, crash and leak reports) and the run report built from them."""
