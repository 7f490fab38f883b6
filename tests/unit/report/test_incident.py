"""The Incident item with drills: runbooks per failure mode (sections, non-empty, compose commands) and
a passing drill of each mode younger than `drill_max_age_days`, judged through `build_gate`."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_basb.inventory.load import IncidentPolicy
from pytest_basb.model.drills import MODES, DrillRecord, read_ledgers
from pytest_basb.model.files import append_line
from pytest_basb.report.gate import INCIDENT, GateItem, ServiceSummary, build_gate
from pytest_basb.report.incident import IncidentEvidence, mode_runbook, runbook_problem
from tests.helpers import REPO

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
WEEK = IncidentPolicy(drill_max_age_days=7)
SHIPPED = REPO / "docs" / "runbooks"
RUNBOOK = """# Incident: <service> is {mode}

## Detection
health.handshake fails.

## Diagnosis
`docker-compose -f deploy/compose.yaml -p basb-staging logs --tail=100 <service>`

## Recovery
`docker-compose -f deploy/compose.yaml -p basb-staging restart <service>`

## Verification
`pytest --basb-env=staging -m health` passes.
"""


def record(service: str, mode: str, *, days_ago: float = 1, outcome: str = "pass") -> DrillRecord:
    started = (NOW - timedelta(days=days_ago)).isoformat(timespec="seconds")
    return DrillRecord(service, mode, started, 0.1, None, 2.0, "r.md", outcome, "t")  # type: ignore[arg-type]


def every_mode(*services: str, days_ago: float = 1) -> list[DrillRecord]:
    return [record(s, m, days_ago=days_ago) for s in services for m in MODES]


def incident_item(folders: list[Path], records: list[DrillRecord], *, policy: IncidentPolicy | None = WEEK) -> GateItem:
    report = build_gate(
        [],
        environment="t",
        services=[ServiceSummary("capture"), ServiceSummary("search")],
        started_at=NOW,
        finished_at=NOW,
        runbooks_dir=None,
        ci_ok=None,
        runbook_dirs=folders,
        incident=IncidentEvidence("t", policy, tuple(records), NOW),
    )
    return next(g for g in report.gate if g.item == INCIDENT)


@pytest.fixture
def team(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    (folder / "incidents").mkdir(parents=True)
    for mode in MODES:
        (folder / "incidents" / f"{mode}.md").write_text(RUNBOOK.format(mode=mode))
    return folder


def test_fresh_passing_drills_of_every_mode_pass(team: Path) -> None:
    item = incident_item([team], every_mode("capture", "search"))
    assert item.status == "pass"
    assert "2 services x 3 failure modes" in item.evidence[0]


def test_the_shipped_runbooks_are_complete() -> None:
    for mode in MODES:
        path = mode_runbook([SHIPPED], "capture", mode)
        assert path == SHIPPED / "incidents" / f"{mode}.md"
        assert runbook_problem(path) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        (RUNBOOK.replace("## Recovery\n", "## Recovery (todo)\n"), "has no '## Recovery' section"),
        (RUNBOOK.replace("`pytest --basb-env=staging -m health` passes.", ""), "section '## Verification' is empty"),
        (RUNBOOK.replace("docker-compose -f deploy/compose.yaml -p basb-staging logs", "journalctl"), "compose"),
    ],
)
def test_a_team_override_that_is_not_usable_fails_naming_it(team: Path, text: str, problem: str) -> None:
    override = team / "incidents" / "search.hung.md"
    override.write_text(text)
    item = incident_item([team, SHIPPED], every_mode("capture", "search"))
    assert item.status == "fail"
    assert len(item.evidence) == 1
    assert item.evidence[0].startswith(f"search hung: runbook {override}")
    assert problem in item.evidence[0]


def test_the_team_folder_is_searched_before_the_shipped_one(team: Path) -> None:
    assert mode_runbook([team, SHIPPED], "search", "hung") == team / "incidents" / "hung.md"
    (team / "incidents" / "search.hung.md").write_text(RUNBOOK.format(mode="hung"))
    assert mode_runbook([team, SHIPPED], "search", "hung") == team / "incidents" / "search.hung.md"
    assert mode_runbook([team, SHIPPED], "capture", "hung") == team / "incidents" / "hung.md"


def test_a_missing_drill_a_stale_one_and_a_failed_one_are_named(team: Path) -> None:
    records = [
        *[r for r in every_mode("capture", "search") if (r.service, r.mode) not in {("search", "hung")}],
        record("search", "hung", days_ago=3, outcome="fail"),
    ]
    item = incident_item([team], records)
    assert item.status == "fail"
    assert item.evidence == ("search hung: last drill failed on 2026-11-30",)

    stale = [r for r in every_mode("capture", "search") if r.mode != "crashed"] + [
        record("capture", "crashed", days_ago=8),
        record("search", "crashed", days_ago=6),
    ]
    item = incident_item([team], stale)
    assert item.evidence == ("capture crashed: drill older than 7 days (last passing drill on 2026-11-25)",)

    item = incident_item([team], every_mode("capture"))
    assert item.evidence == tuple(f"search {m}: no drill" for m in MODES)


def test_a_later_pass_outweighs_an_earlier_failure(team: Path) -> None:
    records = [*every_mode("capture", "search"), record("capture", "stopped", days_ago=2, outcome="fail")]
    assert incident_item([team], records).status == "pass"


def test_a_drill_of_another_environment_is_no_evidence(team: Path) -> None:
    records = [DrillRecord(**{**vars(r), "environment": "prod"}) for r in every_mode("capture", "search")]
    assert incident_item([team], records).evidence[0] == "capture stopped: no drill"


def test_without_an_incident_policy_the_item_is_not_evaluated(team: Path) -> None:
    item = incident_item([team], every_mode("capture", "search"), policy=None)
    assert item.status == "not evaluated"
    assert "no `incident: {drill_max_age_days: N}` for environment t" in item.evidence[0]


def test_the_ledger_round_trips_appends_whole_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    ledger = tmp_path / "logs" / "drills.jsonl"
    first, second = record("capture", "hung"), record("search", "crashed", outcome="fail")
    old = os.umask(0o022)  # the usual umask: the team reads the ledger (never mkstemp's 0600)
    try:
        append_line(ledger, first.to_json())
        append_line(ledger, second.to_json())
    finally:
        os.umask(old)
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o644
    with ledger.open("a") as handle:
        handle.write('{"service": "x"}\nnot json\n')
    copy = tmp_path / "vault" / "drills.jsonl"
    append_line(copy, first.to_json())
    records, problems = read_ledgers([ledger, copy, tmp_path / "absent.jsonl"])
    assert records == [first, second]  # the vault's copy of the same drill counts once
    assert [p.split(": ", 1)[0] for p in problems] == [f"{ledger}:3", f"{ledger}:4"]
