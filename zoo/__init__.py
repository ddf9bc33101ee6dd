# SPDX-License-Identifier: MIT
"""The lwIP bug zoo: catalogue, builds, runner (scripts/zoo)."""
