"""The Incident gate item's drill evidence: per service and failure mode, a usable runbook and a
passing drill younger than `incident.drill_max_age_days`.

Runbooks per failure mode live in `<runbooks>/incidents/`: `<mode>.md` (shared, `<service>` as a
placeholder) or `<service>.<mode>.md` (an override); the team's folder is searched before the shipped
one. Pure apart from reading those files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pytest_basb.inventory.load import IncidentPolicy
from pytest_basb.model.drills import MODES, DrillRecord

INCIDENTS_DIR = "incidents"
SECTIONS = ("Detection", "Diagnosis", "Recovery", "Verification")
_COMPOSE = re.compile(r"docker[- ]compose\b")


@dataclass(frozen=True)
class IncidentEvidence:
    """What the run knows about drills: the environment's policy (None: no `incident:` key), every
    ledger record read, and the moment it judges at."""

    environment: str
    policy: IncidentPolicy | None
    records: tuple[DrillRecord, ...]
    now: datetime
    problems: tuple[str, ...] = ()  # unreadable ledger lines


def mode_runbook(folders: Sequence[Path], service: str, mode: str) -> Path | None:
    """The runbook for `mode` on `service`: per folder, the override before the shared one."""
    for folder in folders:
        for name in (f"{service}.{mode}.md", f"{mode}.md"):
            path = folder / INCIDENTS_DIR / name
            if path.is_file():
                return path
    return None


def runbook_problem(path: Path) -> str | None:
    """None when the runbook has every section, non-empty, and Diagnosis names compose commands."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"runbook {path} cannot be read ({exc})"
    if not text.strip():
        return f"runbook {path} is empty"
    sections = _sections(text)
    for name in SECTIONS:
        body = sections.get(name.lower())
        if body is None:
            return f"runbook {path} has no '## {name}' section"
        if not body.strip():
            return f"runbook {path}: section '## {name}' is empty"
    if not _COMPOSE.search(sections["diagnosis"]):
        return f"runbook {path}: '## Diagnosis' names no compose command (docker-compose ... logs SERVICE)"
    return None


def _sections(text: str) -> dict[str, str]:
    """`## Heading` -> the text under it, up to the next heading of level 2 or 1."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if re.match(r"^#{1,2} ", line):
            current = found.setdefault(line.lstrip("#").strip().lower(), []) if line.startswith("## ") else None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def judge_drills(
    evidence: IncidentEvidence, services: Sequence[str], folders: Sequence[Path]
) -> tuple[str, tuple[str, ...]]:
    """("pass" | "fail" | "not evaluated", evidence lines naming what is missing)."""
    policy = evidence.policy
    if policy is None:
        return "not evaluated", (
            f"no `incident: {{drill_max_age_days: N}}` for environment {evidence.environment}: "
            "no drill evidence is required, so none is judged",
        )
    max_age = timedelta(days=policy.drill_max_age_days)
    missing: list[str] = []
    for service in services:
        for mode in MODES:
            path = mode_runbook(folders, service, mode)
            if path is None:
                missing.append(f"{service} {mode}: no runbook ({INCIDENTS_DIR}/{mode}.md in {_where(folders)})")
            elif (problem := runbook_problem(path)) is not None:
                missing.append(f"{service} {mode}: {problem}")
            drill = _drill_problem(evidence, service, mode, max_age)
            if drill is not None:
                missing.append(f"{service} {mode}: {drill}")
    lines = (*missing, *evidence.problems)
    if missing:
        return "fail", lines
    summary = (
        f"runbooks and passing drills younger than {policy.drill_max_age_days} days for "
        f"{len(services)} services x {len(MODES)} failure modes"
    )
    return "pass", (summary, *lines)


def _drill_problem(evidence: IncidentEvidence, service: str, mode: str, max_age: timedelta) -> str | None:
    records = sorted(
        (
            r
            for r in evidence.records
            if r.service == service and r.mode == mode and r.environment in ("", evidence.environment)
        ),
        key=lambda r: r.started_at,
    )
    if not records:
        return "no drill"
    fresh = [r for r in records if evidence.now - r.started_at < max_age]
    if any(r.outcome == "pass" for r in fresh):
        return None
    last = records[-1]
    if last.outcome == "fail" and last in fresh:
        why = f": {last.why}" if last.why else ""
        return f"last drill failed on {last.started_at.date().isoformat()}{why}"
    passing = [r for r in records if r.outcome == "pass"]
    when = f" (last passing drill on {passing[-1].started_at.date().isoformat()})" if passing else ""
    return f"drill older than {max_age.days} days{when}"


def _where(folders: Sequence[Path]) -> str:
    return ", ".join(str(folder) for folder in folders) or "no runbook folder"
