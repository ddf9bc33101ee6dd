# SPDX-License-Identifier: MIT
"""Zoo scenarios: one module per trigger with run(env) (zoo/README.md)."""
