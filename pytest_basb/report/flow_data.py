"""Which declared flows wrote data in a run, and whether their clean-up steps took it away again.

Read from the flows' evidence (`wrote_data`, `cleanup_passed`), for gate.md and the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_basb.model.results import CheckResult

FLOW_PREFIX = "flow."


def flow_data_lines(checks: Sequence[CheckResult]) -> list[str]:
    """`flow.capture-then-find wrote data; clean-up passed`, one line per flow that wrote data."""
    lines = []
    for check in sorted(checks, key=lambda c: c.id):
        if not check.id.startswith(FLOW_PREFIX) or not check.evidence.get("wrote_data"):
            continue
        cleanup = check.evidence.get("cleanup_passed")
        if cleanup is None:
            after = "no clean-up step: its data stays"
        elif cleanup:
            after = "clean-up passed"
        else:
            after = "clean-up FAILED: data may be left behind"
        lines.append(f"{check.id} wrote data; {after}")
    return lines
