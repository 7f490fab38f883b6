"""`<report-dir>/events.jsonl`: one ECS-shaped JSON event per check, for Filebeat, Logstash or Loki.

Field names follow the Elastic Common Schema (`@timestamp`, `event.*`, `service.name`, `message`,
`log.level`); what ECS has no field for lives under `basb.*`. Every string passes the run's
Redactor, so no value that came from `${VAR}` reaches a log pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pytest_basb.model.results import CheckResult
from pytest_basb.policy.levels import Decision
from pytest_basb.report.gate import GateReport

ECS_VERSION = "8.11.0"
DATASET = "basb.gate"
# ECS event.outcome allows success, failure and unknown only; the gate's own outcome is basb.check.outcome.
# A waived check did fail (ECS: failure); the waiver makes it a warning, not an error, for people.
_ECS_OUTCOME = {
    "pass": "success",
    "warn": "success",
    "fail": "failure",
    "error": "failure",
    "skip": "unknown",
    "waived": "failure",
}
_LEVEL = {"pass": "info", "skip": "info", "warn": "warning", "fail": "error", "error": "error", "waived": "warning"}


def check_events(report: GateReport, *, redact: Callable[[Any], Any] = lambda v: v) -> Iterator[dict[str, Any]]:
    """The events of one run, in the report's check order."""
    timestamp = report.finished_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for check in report.checks:
        yield redact(_event(report, check, timestamp))


def _event(report: GateReport, check: CheckResult, timestamp: str) -> dict[str, Any]:
    return {
        "@timestamp": timestamp,
        "ecs": {"version": ECS_VERSION},
        "log": {"level": _LEVEL[check.outcome]},
        "event": {
            "kind": "event",
            "dataset": DATASET,
            "action": check.id,
            "outcome": _ECS_OUTCOME[check.outcome],
            "duration": round(check.duration_s * 1e9),
        },
        "service": {"name": check.service},
        "message": _message(check),
        "basb": {
            "environment": report.environment,
            "verdict": report.verdict,
            "run": {"started_at": report.started_at.isoformat(timespec="seconds")},
            "check": {
                "id": check.id,
                "outcome": check.outcome,
                "severity": check.severity,
                "nodeid": check.nodeid,
                "policy": check.policy or Decision().to_dict(),
                **({"waiver": check.waiver} if check.waiver else {}),
            },
        },
    }


def _message(check: CheckResult) -> str:
    head = f"{check.id} on {check.service}: {check.outcome}"
    if check.outcome == "waived" and check.waiver:
        head += f" until {check.waiver.get('expires')} ({check.waiver.get('reason')})"
    return f"{head}: {check.message}" if check.message else head


def write_events(report: GateReport, path: Path, *, redact: Callable[[Any], Any] = lambda v: v) -> Path:
    """Replace `path` atomically with this run's events (a shipper tails whole lines only)."""
    from pytest_basb.model.files import atomic_write

    lines = (
        json.dumps(event, ensure_ascii=False, sort_keys=True, default=str)
        for event in check_events(report, redact=redact)
    )
    return atomic_write(path, "".join(line + "\n" for line in lines))
