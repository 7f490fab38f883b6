"""The weekly summary built from one ISO week's daily logs, and the `basb-log` CLI called in-process."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_basb.cli.log import main, parse_week
from pytest_basb.obsidian.daily import DEFAULT_LOG_DIR, daily_log_path
from pytest_basb.obsidian.weekly import week_days, weekly_path, write_weekly_summary
from tests.unit.obsidian.runs import run_report, write

MON, TUE, THU = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 26)


WEEKLY_HEADINGS = [
    "# BASB DevOps Weekly Summary - Week 48 2026",
    "## 📈 Weekly Achievements",
    "### Deployments Completed",
    "### Basic Testing Results",
    "## 📊 Infrastructure Health",
    "## 🚧 Current Challenges",
    "## 💡 Recommendations",
    "## 🚀 Next Week's Focus",
]


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def front_matter(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    assert lines[0] == "---"
    data = yaml.safe_load("\n".join(lines[1 : lines.index("---", 1)]))
    assert isinstance(data, dict)
    return data


def headings(text: str) -> list[str]:
    body = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)
    return [line for line in body.splitlines() if re.match(r"#{1,6} ", line)]


def link(day: date) -> str:
    return f"[[{DEFAULT_LOG_DIR}/{day.isoformat()} dev-ops-log\\|{day:%a} {day.isoformat()}]]"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    path = tmp_path / "vault"
    path.mkdir()
    # Monday fails, Tuesday fails then is fixed, Thursday passes; the days around belong to other weeks.
    write(path, run_report(failing=True), at(MON, 9))
    write(path, run_report(failing=True), at(TUE, 9))
    write(path, run_report(), at(TUE, 15))
    write(path, run_report(), at(THU, 9))
    write(path, run_report(failing=True), at(date(2026, 11, 22), 9))
    write(path, run_report(failing=True), at(date(2026, 11, 30), 9))
    return path


def test_weekly_links_each_day_and_sums_counts(vault: Path) -> None:
    path = write_weekly_summary(vault, iso_year=2026, iso_week=48)
    assert path == vault / DEFAULT_LOG_DIR / "2026-W48 dev-ops-weekly.md" == weekly_path(vault, 2026, 48)
    text = path.read_text()
    assert headings(text) == WEEKLY_HEADINGS
    # One row per daily log of the week, each linking that day's note; other weeks left out.
    assert f"| {link(MON)} | 1 | 6 | 1 | fail |" in text
    assert f"| {link(TUE)} | 2 | 12 | 1 | pass |" in text
    assert f"| {link(THU)} | 1 | 6 | 0 | pass |" in text
    assert "| **Total** | 4 | 24 | 2 | pass |" in text
    assert "2026-11-22" not in text
    assert "2026-11-30" not in text
    meta = front_matter(text)
    assert {k: meta[k] for k in ("type", "week", "days_logged", "runs", "passed", "failed", "status")} == {
        "type": "devops-weekly",
        "week": "2026-W48",
        "days_logged": 3,
        "runs": 4,
        "passed": 24,
        "failed": 2,
        "status": "pass",
    }
    assert (meta["start"], meta["end"]) == (MON, date(2026, 11, 29))
    assert "devops" in meta["tags"]
    assert "basb" in meta["tags"]


def test_weekly_has_a_dataview_query_over_the_week(vault: Path) -> None:
    text = write_weekly_summary(vault, iso_year=2026, iso_week=48).read_text()
    block = re.search(r"^```dataview\n(.*?)^```$", text, flags=re.S | re.M)
    assert block is not None
    query = block.group(1)
    assert f'FROM "{DEFAULT_LOG_DIR}"' in query
    assert 'type = "devops-log"' in query
    assert "date >= date(2026-11-23)" in query
    assert "date <= date(2026-11-29)" in query


def test_weekly_reports_resolved_and_open_failures(vault: Path) -> None:
    text = write_weekly_summary(vault, iso_year=2026, iso_week=48).read_text()
    assert "- Resolved: `smoke.call` on `search` in `local` (failed 2026-11-23, 2026-11-24;" in text
    assert "No open failures: the last run of every environment passed." in text
    assert "`smoke.call` on `search` (`local`) failed on 2 days" in text  # a recommendation
    # A failing run on Friday reopens it: a challenge and a task for next week.
    write(vault, run_report(failing=True), at(date(2026, 11, 27), 9))
    text = write_weekly_summary(vault, iso_year=2026, iso_week=48).read_text()
    assert "- `smoke.call` on `search` still fails in `local`" in text
    assert "- [ ] Fix `smoke.call` on `search` in `local`" in text
    assert front_matter(text)["status"] == "fail"


def test_rebuilding_replaces_generated_regions_and_keeps_a_persons_text(vault: Path) -> None:
    path = write_weekly_summary(vault, iso_year=2026, iso_week=48)
    text = path.read_text().replace("## 💡 Recommendations\n", "## 💡 Recommendations\n\nAna: try canary deploys.\n")
    path.write_text(text.replace("tags: [", "owner: ana\ntags: ["))
    write(vault, run_report(), at(date(2026, 11, 28), 9))
    after = write_weekly_summary(vault, iso_year=2026, iso_week=48).read_text()
    assert "Ana: try canary deploys." in after
    assert front_matter(after)["owner"] == "ana"
    assert front_matter(after)["runs"] == 5
    assert link(date(2026, 11, 28)) in after
    for key in ("deployments", "testing", "health", "challenges", "recommendations", "focus"):
        assert after.count(f"<!-- basb:weekly {key} start -->") == 1
    assert headings(after) == WEEKLY_HEADINGS


def test_daily_front_matter_is_what_the_weekly_counts(vault: Path) -> None:
    # A day logged by hand (no generated run sections): its front matter still counts.
    manual = daily_log_path(vault, date(2026, 11, 25))
    manual.write_text("---\ntype: devops-log\ndate: 2026-11-25\nruns: 1\npassed: 3\nfailed: 0\nstatus: pass\n---\n")
    text = write_weekly_summary(vault, iso_year=2026, iso_week=48).read_text()
    assert f"| {link(date(2026, 11, 25))} | 1 | 3 | 0 | pass |" in text
    assert front_matter(text)["runs"] == 5


def test_week_without_logs_and_week_that_does_not_exist(tmp_path: Path) -> None:
    text = write_weekly_summary(tmp_path, iso_year=2026, iso_week=2).read_text()
    assert "No daily DevOps logs this week." in text
    assert front_matter(text)["runs"] == 0
    with pytest.raises(ValueError, match="53"):
        week_days(2025, 53)


def test_cli_writes_the_requested_week(vault: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weekly", "--vault", str(vault), "--week", "2026-W48"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(weekly_path(vault, 2026, 48))
    assert "| **Total** | 4 | 24 | 2 | pass |" in Path(out).read_text()


def test_cli_defaults_to_the_current_iso_week(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC).isocalendar()
    assert main(["weekly", "--vault", str(tmp_path), "--log-dir", "logs"]) == 0
    after = datetime.now(UTC).isocalendar()
    written = Path(capsys.readouterr().out.strip())
    expected = {f"{d.year}-W{d.week:02d} dev-ops-weekly.md" for d in (before, after)}
    assert written.parent == tmp_path / "logs"
    assert written.name in expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["weekly", "--vault", "{missing}"], "vault directory not found: {missing}"),
        (["weekly", "--vault", "{vault}", "--week", "2026-48"], "--week must look like 2026-W48"),
        (["weekly", "--vault", "{vault}", "--week", "2025-W53"], "2025 has no ISO week 53"),
        (["weekly", "--vault", "{vault}", "--log-dir", "../outside"], "--log-dir must be a folder inside the vault"),
        (["weekly"], "the following arguments are required: --vault"),
        ([], "usage: basb-log"),
    ],
)
def test_cli_errors_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    names = {"missing": str(tmp_path / "no-vault"), "vault": str(tmp_path)}
    assert main([a.format(**names) for a in args]) == 2
    assert message.format(**names) in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.md"))


def test_parse_week() -> None:
    assert parse_week("2026-W48") == (2026, 48)
    assert parse_week("2026-W53") == (2026, 53)
    assert week_days(2026, 48)[0] == MON
    assert week_days(2026, 48)[-1] - week_days(2026, 48)[0] == timedelta(days=6)
