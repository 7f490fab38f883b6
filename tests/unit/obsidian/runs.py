"""Gate reports of two services (capture, search) as a run would make them, and the daily-log writer
called as the plugin calls it: the input of the Obsidian tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_basb.model.results import CheckResult
from pytest_basb.obsidian.daily import write_daily_log
from pytest_basb.report.gate import GateReport, ServiceSummary, build_gate

MORNING = datetime(2026, 11, 26, 9, 15, 2, tzinfo=UTC)


def result(
    check_id: str, service: str, outcome: str = "pass", message: str | None = None, **evidence: Any
) -> CheckResult:
    return CheckResult.from_dict(
        {
            "id": check_id,
            "service": service,
            "outcome": outcome,
            "severity": "warn" if outcome == "warn" else "fail",
            "message": message,
            "evidence": evidence,
            "nodeid": f"suites/x.py::test_{check_id}[{service}]",
        }
    )


def run_report(
    *, failing: bool = False, message: str = "connection refused", environment: str = "local", at: datetime = MORNING
) -> GateReport:
    results = []
    for service in ("capture", "search"):
        server = {"name": f"basb-{service}", "version": "1.0.0"}
        results += [
            result("health.handshake", service, server=server, protocol_version="2026-07-28"),
            result("health.liveness", service),
            result("smoke.tools_listed", service),
        ]
    if failing:
        results.append(result("smoke.call", "search", "error", message))
    return build_gate(
        results,
        environment=environment,
        services=[ServiceSummary("capture", "capture", "stdio"), ServiceSummary("search", "search", "streamable-http")],
        started_at=at - timedelta(seconds=9),
        finished_at=at,
        runbooks_dir=None,
        ci_ok=None,
    )


def write(vault: Path, report: GateReport, at: datetime, runbooks: Path | None = None, **kw: Any) -> Path:
    return write_daily_log(
        report, vault=vault, report_paths=[vault.parent / "gate.md"], runbooks_dir=runbooks, now=at, **kw
    )


def details(text: str, run: int, title: str | None = None) -> str:
    """Run `run`'s folded details with the callout's `> ` taken off; only section `title` if given
    (its lines un-nested, as the section read before it was folded)."""
    start = text.index(f"<!-- basb:run {run} details start")
    end = text.index(f"<!-- basb:run {run} details end -->", start)
    lines = [line.removeprefix(">").removeprefix(" ") for line in text[start:end].splitlines()[1:]]
    if title is None:
        return "\n".join(lines)
    head = lines.index(f"- **{title}**")
    own = []
    for line in lines[head + 1 :]:
        if not line.startswith("  "):
            break
        own.append(line[2:])
    return "\n".join(own)
