"""`--basb-ci-status=FILE`: the conclusions of the pipeline's earlier jobs, evidence for the gate's
"CI/CD pipelines are functioning without failed jobs" item.

Two formats: JSON `{"jobs": [{"name": "lint", "conclusion": "success"}, ...]}` (GitHub's job
conclusions; the workflow writes it from `needs`), or a JUnit XML report whose test cases are the
jobs (a failure or error child fails the job, a skipped child skips it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# GitHub's conclusions (check runs and `needs.<job>.result`); only these three are not failures.
PASSING = frozenset({"success", "skipped", "neutral"})
FAILING = frozenset({"failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale"})
CONCLUSIONS = PASSING | FAILING


class CiStatusError(ValueError):
    """The CI status file cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class CiJob:
    name: str
    conclusion: str

    @property
    def failed(self) -> bool:
        return self.conclusion not in PASSING


@dataclass(frozen=True)
class CiStatus:
    source: Path
    jobs: tuple[CiJob, ...]

    @property
    def failed(self) -> tuple[CiJob, ...]:
        return tuple(job for job in self.jobs if job.failed)

    @property
    def ok(self) -> bool:
        return not self.failed

    def evidence(self) -> tuple[str, ...]:
        """Lines for the gate item: the source and counts, then every failed job by name."""
        head = f"{self.source.name}: {len(self.jobs)} jobs, {len(self.failed)} failed"
        return (head, *(f"failed job: {job.name} ({job.conclusion})" for job in self.failed))


def load_ci_status(path: Path) -> CiStatus:
    """Read a JSON or JUnit XML status file (by its first non-blank character)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise CiStatusError(f"{path}: CI status file not found; pass the file the pipeline wrote.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CiStatusError(f"{path}: cannot read the CI status file ({type(exc).__name__}).") from None
    jobs = _from_xml(path, text) if text.lstrip().startswith("<") else _from_json(path, text)
    if not jobs:
        raise CiStatusError(f"{path}: lists no jobs; a status without jobs is no evidence. {_FORMAT}")
    return CiStatus(source=path, jobs=tuple(jobs))


_FORMAT = 'Expected JSON {"jobs": [{"name": "lint", "conclusion": "success"}]} or a JUnit XML report.'


def _from_json(path: Path, text: str) -> list[CiJob]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CiStatusError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}). {_FORMAT}") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise CiStatusError(f"{path}: jobs: required list is missing. {_FORMAT}")
    jobs = []
    for index, entry in enumerate(data["jobs"]):
        where = f"{path}: jobs.{index}"
        if not isinstance(entry, dict):
            raise CiStatusError(f"{where}: must be an object with `name` and `conclusion`.")
        name, conclusion = entry.get("name"), entry.get("conclusion")
        if not isinstance(name, str) or not name:
            raise CiStatusError(f"{where}.name: required non-empty string.")
        if conclusion not in CONCLUSIONS:
            raise CiStatusError(f"{where}.conclusion: must be one of {', '.join(sorted(CONCLUSIONS))}.")
        jobs.append(CiJob(name, str(conclusion)))
    return jobs


def _from_xml(path: Path, text: str) -> list[CiJob]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0]
        raise CiStatusError(f"{path}: line {line}: not well-formed XML. {_FORMAT}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise CiStatusError(f"{path}: root element <{root.tag}>: expected <testsuites> or <testsuite>. {_FORMAT}")
    jobs = []
    for case in root.iter("testcase"):
        name = case.get("name") or ""
        classname = case.get("classname")
        label = f"{classname}.{name}" if classname else name
        if case.find("failure") is not None or case.find("error") is not None:
            conclusion = "failure"
        elif case.find("skipped") is not None:
            conclusion = "skipped"
        else:
            conclusion = "success"
        jobs.append(CiJob(label or "(unnamed test case)", conclusion))
    return jobs
