"""The Obsidian daily DevOps log: template, front matter, run sections, a person's edits, escaping."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_basb.obsidian.daily import DEFAULT_LOG_DIR, daily_log_path, read_daily_log
from pytest_basb.report.gate import ServiceSummary, build_gate
from tests.unit.obsidian.runs import MORNING, details, result, run_report, write

DAY = date(2026, 11, 26)
TEMPLATE_HEADINGS = [
    "# BASB DevOps Log - 2026-11-26",
    "## 🎯 Today's DevOps Goals",
    "## ✅ Completed Work",
    "### Deployments",
    "### Basic Service Testing",
    "## 📊 Monitoring Status",
    "## 🔍 Issues Encountered",
    "## 📋 Tomorrow's Plan",
    "## 🔗 References",
]
HOSTILE = "got [[x]] and #tag, %%hidden%%, ==mark==, $x^2$ and <tag>"
DETAILS = (
    "🎯 Today's DevOps Goals",
    "✅ Deployments",
    "✅ Basic Service Testing",
    "📊 Monitoring Status",
    "🔍 Issues Encountered",
    "📋 Tomorrow's Plan",
    "🔗 References",
)


def front_matter(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    assert lines[0] == "---"
    end = lines.index("---", 1)
    data = yaml.safe_load("\n".join(lines[1:end]))
    assert isinstance(data, dict)
    return data


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"#{1,6} ", line)]


def outside_code(text: str) -> str:
    """The text with fenced blocks and inline code spans removed (what Obsidian would interpret)."""
    text = re.sub(r"^(`{3,}|~{3,}).*?^\1\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    path = tmp_path / "vault"
    path.mkdir()
    return path


def test_first_run_creates_the_daily_template(vault: Path) -> None:
    path = write(vault, run_report(), MORNING)
    assert path == vault / "agent-workspaces" / "DevOps" / "deply-notes" / "2026-11-26 dev-ops-log.md"
    assert path == daily_log_path(vault, DAY)
    text = path.read_text()
    assert headings(text) == TEMPLATE_HEADINGS
    meta = front_matter(text)
    assert meta == {
        "type": "devops-log",
        "date": DAY,
        "environment": "local",
        "environments": ["local"],
        "runs": 1,
        "runs_partial": 0,
        "passed": 6,
        "failed": 0,
        "warnings": 0,
        "runs_failed": 0,
        "status": "pass",
        "last_run": "09:15:02 UTC",
        "tags": ["devops", "basb"],
    }
    assert "tags: [devops, basb]" in text
    assert "- **System Health**: Healthy" in text
    assert "`capture` (capture, stdio): verified — `basb-capture 1.0.0`, protocol `2026-07-28`" in text
    assert "Executed health checks on services: 4 checks — 4 passed" in text
    assert "Smoke tested core functionalities: 2 checks — 2 passed" in text
    assert "- [x] Run health checks: 4 planned" in text
    assert text.count("<!-- basb:run 1 details start") == text.count("<!-- basb:run 1 details end -->") == 1
    assert [line for line in details(text, 1).splitlines() if line.startswith("- **")] == [
        f"- **{t}**" for t in DETAILS
    ]
    assert "> [!note]- Run 1 — 09:15:02 UTC — `local` — PASS: details" in text  # folded


def test_second_run_adds_a_run_section_and_updates_totals(vault: Path) -> None:
    write(vault, run_report(failing=True), MORNING)
    path = write(vault, run_report(), MORNING + timedelta(hours=5))
    files = list(path.parent.iterdir())
    assert files == [path]  # one note, no temp or lock files left behind
    text = path.read_text()
    assert headings(text) == TEMPLATE_HEADINGS
    assert text.index("<!-- basb:run 1 details start") < text.index("<!-- basb:run 2 details start")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[:5] for row in rows] == [
        ["| 1", "09:15:02", "`local`", "full: 2/2 services, 7/7 checks", "❌ FAIL"],
        ["| 2", "14:15:02", "`local`", "full: 2/2 services, 6/6 checks", "✅ PASS"],
    ]
    assert "Run 1 — 09:15:02 UTC — `local` — FAIL: details" in text
    assert "Run 2 — 14:15:02 UTC — `local` — PASS: details" in text
    meta = front_matter(text)
    assert (meta["runs"], meta["passed"], meta["failed"], meta["runs_failed"], meta["status"]) == (2, 12, 1, 1, "pass")
    _front, runs = read_daily_log(path)
    assert [r.verdict for r in runs] == ["fail", "pass"]
    assert runs[0].failures == (("smoke.call", "search"),)


def test_a_persons_edits_survive_later_runs(vault: Path) -> None:
    path = write(vault, run_report(failing=True), MORNING)
    text = path.read_text()
    # A person: adds a front-matter key with a comment, writes under two sections, ticks a task
    # inside run 1's generated plan, and appends a section of their own at the end.
    text = text.replace("tags: [devops, basb]", "tags: [devops, basb, incident]\nreviewed: true  # by Ana")
    text = text.replace(
        "## 🔍 Issues Encountered\n", "## 🔍 Issues Encountered\n\nAna: search was redeployed at 10:00.\n"
    )
    text = text.replace("\n## ✅ Completed Work", "\nAna's goal: migrate search to 1.1\n\n## ✅ Completed Work")
    text = text.replace("- [ ] Fix `smoke.call` on `search`", "- [x] Fix `smoke.call` on `search`")
    text += "\n## Ana's notes\n\nCall the vendor about [[Search SLA]].\n"
    path.write_text(text)

    write(vault, run_report(), MORNING + timedelta(hours=1))
    write(vault, run_report(), MORNING + timedelta(hours=2))
    after = path.read_text()
    for kept in (
        "reviewed: true  # by Ana",
        "Ana: search was redeployed at 10:00.",
        "Ana's goal: migrate search to 1.1",
        "- [x] Fix `smoke.call` on `search`",
        "## Ana's notes\n\nCall the vendor about [[Search SLA]].",
    ):
        assert kept in after, kept
    meta = front_matter(after)
    assert meta["runs"] == 3
    assert meta["reviewed"] is True
    assert meta["tags"] == ["devops", "basb", "incident"]
    # New runs keep the person's text where it was; the person's own heading stays last.
    assert after.index("Ana's goal") < after.index("<!-- basb:run 2 details start")
    assert after.index("<!-- basb:run 1 details end") < after.index("<!-- basb:run 2 details start")
    assert headings(after) == [*TEMPLATE_HEADINGS, "## Ana's notes"]
    assert after.index("<!-- basb:run 3 details end") < after.index("## Ana's notes")


def test_a_note_the_person_started_from_the_template_is_filled_in(vault: Path) -> None:
    path = daily_log_path(vault, DAY)
    path.parent.mkdir(parents=True)
    template = "\n\n".join(TEMPLATE_HEADINGS) + "\n"
    path.write_text(template.replace("## 🔗 References", "## 🔗 References\n\n- [[Runbook index]]"))
    write(vault, run_report(), MORNING)
    text = path.read_text()
    assert headings(text) == TEMPLATE_HEADINGS  # nothing duplicated
    assert "- [[Runbook index]]" in text
    assert front_matter(text)["runs"] == 1


def test_a_deleted_template_heading_is_restored_without_losing_text(vault: Path) -> None:
    path = write(vault, run_report(), MORNING)
    text = path.read_text().replace("## 📊 Monitoring Status\n", "My monitoring notes.\n")
    path.write_text(text)
    write(vault, run_report(), MORNING + timedelta(hours=1))
    after = path.read_text()
    assert "My monitoring notes." in after
    assert "## 📊 Monitoring Status" in after
    assert after.count("<!-- basb:run 2 details start") == 1


def test_unparsable_front_matter_is_kept_verbatim(vault: Path) -> None:
    path = write(vault, run_report(), MORNING)
    text = path.read_text().replace("tags: [devops, basb]", "tags: [devops, basb\nnote: {broken")
    path.write_text(text)
    write(vault, run_report(), MORNING + timedelta(hours=1))
    after = path.read_text()
    assert front_matter(after)["runs"] == 2
    assert "note: {broken" in after


@pytest.mark.parametrize(
    "message",
    [
        HOSTILE,
        "multi\nline ## not a heading\n- [ ] not a task",
        "backticks ``` and ` inside [[x]] #tag",
        "<!-- basb:run 9 goals start --> $ %% == <tag>",
    ],
)
def test_test_output_is_inert_in_obsidian(vault: Path, message: str) -> None:
    bad_name = ServiceSummary("search", server_name="[[evil]] #tag", server_version="<b>1</b>")
    report = run_report(failing=True, message=message)
    report = build_gate(
        list(report.checks),
        environment="lo$cal",
        services=[bad_name],
        started_at=report.started_at,
        finished_at=report.finished_at,
        runbooks_dir=None,
        ci_ok=None,
    )
    path = write(vault, report, MORNING)
    text = path.read_text()
    visible = outside_code(text.split("\n---\n", 1)[1])
    for token in ("[[x]]", "[[evil]]", "#tag", "%%", "==", "$", "<tag>", "<b>", "## not a heading", "- [ ] not a task"):
        assert token not in visible, (token, visible)
    assert headings(text) == TEMPLATE_HEADINGS
    _front, runs = read_daily_log(path)  # the run facts round-trip the hostile strings unchanged
    assert runs[0].services["search"]["server"] == "[[evil]] #tag"
    assert runs[0].environment == "lo$cal"
    # A marker look-alike in a message does not shift run numbering.
    write(vault, run_report(), MORNING + timedelta(hours=1))
    assert front_matter(path.read_text())["runs"] == 2
    assert "<!-- basb:run 2 details start" in path.read_text()


def test_issues_and_plan_list_each_failure_with_its_runbook(vault: Path) -> None:
    runbooks = vault / "docs" / "runbooks"
    runbooks.mkdir(parents=True)
    (runbooks / "smoke.call.md").write_text("# smoke.call\n")
    report = run_report(failing=True, message="tool call failed: [[x]]")
    extra = result("health.liveness", "capture", "fail", "no pong")
    report = build_gate(
        [*report.checks, extra],
        environment="local",
        services=[s.summary for s in report.services],
        started_at=report.started_at,
        finished_at=report.finished_at,
        runbooks_dir=runbooks,
        ci_ok=None,
    )
    text = write(vault, report, MORNING, runbooks=runbooks).read_text()
    text = details(text, 1)
    assert "- ❌ `smoke.call` on `search` (error)\n    - **Description**: `tool call failed: [[x]]`" in text
    assert "- **Actions Taken**:" in text
    assert "- [ ] Fix `smoke.call` on `search` — runbook: [[docs/runbooks/smoke.call|smoke.call]]" in text
    missing = runbooks / "health.liveness.md"
    assert f"- [ ] Fix `health.liveness` on `capture` — runbook: missing — write `{missing}`" in text
    assert "- **System Health**: Issues Detected — 2 of 2 services failing: `capture`, `search`" in text
    assert "- Runbook for `smoke.call`: [[docs/runbooks/smoke.call|smoke.call]]" in text


def test_links_outside_the_vault_use_file_uris(vault: Path, tmp_path: Path) -> None:
    text = write(vault, run_report(), MORNING).read_text()
    assert f"- Gate report: [gate.md](<{(tmp_path / 'gate.md').as_uri()}>)" in text


def test_day_and_time_are_utc(vault: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    path = write(vault, run_report(), datetime(2026, 11, 27, 1, 30, tzinfo=plus_two))
    assert path.name == "2026-11-26 dev-ops-log.md"
    assert "Run 1 — 23:30:00 UTC" in path.read_text()
    naive = write(vault, run_report(), datetime(2026, 11, 28, 8, 0))
    assert naive.name == "2026-11-28 dev-ops-log.md"


def test_custom_log_dir_and_separate_days(vault: Path) -> None:
    first = write(vault, run_report(), MORNING, log_dir="ops/logs")
    second = write(vault, run_report(), MORNING + timedelta(days=1), log_dir="ops/logs")
    assert first.parent == second.parent == vault / "ops" / "logs"
    assert first != second
    assert front_matter(second.read_text())["runs"] == 1
    assert DEFAULT_LOG_DIR == "agent-workspaces/DevOps/deply-notes"


def test_missing_vault_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope"))):
        write(tmp_path / "nope", run_report(), MORNING)


def test_block_style_front_matter_a_person_wrote_is_updated_in_place(vault: Path) -> None:
    path = write(vault, run_report(), MORNING)
    text = path.read_text().replace("tags: [devops, basb]", "# reviewed weekly\ntags:\n  - ops\n  - devops")
    path.write_text(text)
    write(vault, run_report(), MORNING + timedelta(hours=1))
    after = path.read_text()
    assert "# reviewed weekly" in after.split("\n---\n", 1)[0]
    meta = front_matter(after)
    assert meta["tags"] == ["ops", "devops", "basb"]
    assert meta["runs"] == 2
    assert "[!warning]" not in after  # updated in place, no fallback needed
