"""The daily log's Issues and Plan for runs with warnings and with more findings than it lists, a
message-less failure, and the note lock a crashed writer left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.obsidian.daily import MAX_LISTED, write_daily_log
from pytest_basb.obsidian.note import file_lock
from pytest_basb.report.gate import GateReport, ServiceSummary, build_gate
from tests.unit.obsidian.runs import MORNING, details, result, write


def report_of(results: list[CheckResult]) -> GateReport:
    return build_gate(
        results,
        environment="local",
        services=[ServiceSummary("capture", "capture", "stdio")],
        started_at=MORNING,
        finished_at=MORNING,
        runbooks_dir=None,
        ci_ok=None,
    )


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    path = tmp_path / "vault"
    path.mkdir()
    return path


def test_warnings_are_listed_as_issues_and_reviewed_in_the_plan(vault: Path) -> None:
    report = report_of(
        [result("health.handshake", "capture"), result("smoke.tool_names", "capture", "warn", "'bad name!' breaks")]
    )
    text = write(vault, report, MORNING).read_text()
    issues = details(text, 1, "🔍 Issues Encountered")
    assert "- ⚠️ `smoke.tool_names` on `capture` (warning): `'bad name!' breaks`" in issues
    plan = details(text, 1, "📋 Tomorrow's Plan")
    assert "- [ ] Review 1 warning in the gate report" in plan
    assert "- [ ] Fix" not in plan


def test_findings_beyond_the_listed_ones_are_counted_and_a_failure_without_message_says_so(vault: Path) -> None:
    warnings = [result(f"smoke.w{i:02d}", "capture", "warn", f"w{i}") for i in range(MAX_LISTED + 2)]
    failure = result("health.handshake", "capture", "fail", None)
    text = write(vault, report_of([failure, *warnings]), MORNING).read_text()
    issues = details(text, 1, "🔍 Issues Encountered")
    assert issues.count("(warning)") == MAX_LISTED
    assert "- … and 2 more in the gate report" in issues
    assert "  - **Description**: (no message)" in issues
    plan = details(text, 1, "📋 Tomorrow's Plan")
    assert plan.count("- [ ] Fix `health.handshake` on `capture`") == 1


def test_a_run_writing_no_report_file_says_so(vault: Path) -> None:
    path = write_daily_log(
        report_of([result("health.handshake", "capture")]),
        vault=vault,
        report_paths=[],
        runbooks_dir=None,
        now=MORNING,
    )
    assert "- No report files were written in this run" in details(path.read_text(), 1, "🔗 References")


def test_a_stale_lock_of_a_crashed_writer_is_taken_over_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = tmp_path / "day.md"
    lock = tmp_path / ".day.md.lock"
    lock.touch()  # no owner written: only its age says it is stale
    old = time.time() - 600
    os.utime(lock, (old, old))
    with file_lock(note, timeout_s=5):
        assert lock.exists()  # ours now
    assert not lock.exists()
    assert f"took over the lock {lock}" in capsys.readouterr().err
