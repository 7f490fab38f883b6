"""Controller side, at session end: build the gate and write every report of the run."""

from __future__ import annotations

from typing import Any

from pytest_basb.state import BasbState


def write_run_reports(state: BasbState, config: Any) -> None:
    outcomes = [r.outcome for r in state.results.values()]
    state.verdict = "fail" if any(o in ("fail", "error") for o in outcomes) else "pass"
    state.terminal_lines = [f"verdict: {state.verdict} ({len(outcomes)} checks)"]
