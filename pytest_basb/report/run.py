"""Controller side, at session end: build the gate and write every report of the run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_basb.report.gate_files import terminal_table, write_gate_json, write_gate_md
from pytest_basb.report.verdict import build_gate
from pytest_basb.state import BasbState


def write_run_reports(state: BasbState, config: Any) -> None:
    assert state.environment is not None
    report = build_gate(
        list(state.results.values()),
        environment=state.environment.name,
        service_ids=sorted({r.service for r in state.results.values()}),
        started_at=state.started_at or datetime.now(UTC),
        finished_at=datetime.now(UTC),
        runbooks_dir=config.rootpath / "docs" / "runbooks",
    )
    report_dir = state.options.report_dir
    state.report_paths = [
        write_gate_json(report, report_dir / "gate.json"),
        write_gate_md(report, report_dir / "gate.md"),
    ]
    state.verdict = report.verdict
    state.terminal_lines = [*terminal_table(report), *(f"report: {p}" for p in state.report_paths)]
