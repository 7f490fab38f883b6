"""gate.md and the terminal summary for the runs that are not a plain full run: a partial scope, a
run that checked nothing, many failures, warnings only; and gate.json's handling of odd evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pytest_basb.report.gate import Scope
from pytest_basb.report.gate_files import (
    TERMINAL_LISTED,
    gate_dict,
    gate_md_lines,
    inline_code,
    terminal_table,
    write_gate_json,
)
from tests.unit.report.test_gate import check, gate, healthy

PARTIAL = Scope(
    suites=("health", "smoke"),
    services_checked=1,
    services_total=2,
    checks_selected=3,
    checks_total=40,
    reasons=("-k handshake",),
)


def test_a_partial_run_says_what_narrowed_it_everywhere() -> None:
    report = gate(healthy("capture"))
    report = type(report)(**{**report.__dict__, "scope": PARTIAL})
    assert report.partial
    label = "partial: 1/2 services, 3/40 checks"
    assert f"- Scope: {label} — narrowed by -k handshake" in gate_md_lines(report)
    table = terminal_table(report)
    assert f"scope: {label} — narrowed by -k handshake" in table
    assert table[-1].startswith(f"verdict: PASS ({label}) (local)")
    assert gate_dict(report)["scope"]["full"] is False


def test_a_run_that_checked_nothing_says_so_and_replaces_the_stale_report() -> None:
    report = gate([], services=())
    assert report.verdict == "none"
    text = "\n".join(gate_md_lines(report))
    assert "no check of this run's selection ran" in text
    assert "- Suites: —" in text


def test_the_terminal_names_ten_failures_and_counts_the_rest() -> None:
    # One failing service each (failures of one service behind a first one count as blocked by it).
    failures = [check("smoke.call", f"svc{i:02d}", "fail", f"boom {i}") for i in range(TERMINAL_LISTED + 3)]
    table = terminal_table(gate(failures, services=()))
    named = [line for line in table if line.startswith("failing: smoke.")]
    assert len(named) == TERMINAL_LISTED
    assert "failing: … and 3 more in gate.md" in table
    assert all(line.endswith("runbook: none (no runbooks directory)") for line in named)


def test_a_suite_with_only_warnings_reads_pass_warn() -> None:
    report = gate([*healthy("capture"), check("smoke.tool_names", "capture", "warn", "bad name")], services=())
    row = next(line for line in terminal_table(report) if line.startswith("capture"))
    assert row.split()[1:3] == ["pass", "pass(warn)"]  # health, smoke


def test_evidence_that_is_not_json_is_written_as_text_sorted(tmp_path: Path) -> None:
    odd = check("health.handshake", "capture", "pass", when=datetime(2026, 1, 2, tzinfo=UTC), where=Path("/v"))
    odd.evidence["nested"] = {"b": (1, 2), "a": None}
    path = write_gate_json(gate([odd], services=()), tmp_path / "gate.json")
    evidence = json.loads(path.read_text())["checks"][0]["evidence"]
    assert evidence == {"nested": {"a": None, "b": [1, 2]}, "when": "2026-01-02 00:00:00+00:00", "where": "/v"}
    assert list(evidence) == sorted(evidence)


def test_inline_code_survives_backticks_and_empty_text() -> None:
    assert inline_code("") == "—"
    assert inline_code("a `b` c") == "``a `b` c``"
    assert inline_code("`x`") == "`` `x` ``"
    assert inline_code("line one\nline two") == "`line one line two`"
