"""The quality-gate verdict: per-service status and the brief's gate items, from check results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_basb.results import OUTCOMES, CheckResult

SUITES = ("health", "smoke", "basb", "security", "regression")
BLOCKING = ("fail", "error")
NOT_EVALUATED = "not evaluated"

# The brief's Quality Gate items, each with the check-id prefixes that are its evidence.
GATE_ITEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("All services are successfully deployed and accessible", ("health.",)),
    ("CI/CD pipelines are functioning without failed jobs", ()),
    (
        "Monitoring and alerting systems provide accurate real-time data",
        ("health.http_health", "monitoring."),
    ),
    ("Basic accessibility tests for all services have passed", ("health.", "smoke.")),
    ("Incident response protocols are in place and tested", ()),
    ("Security compliance checks are performed and documented", ("security.",)),
)


@dataclass(frozen=True)
class ServiceSummary:
    id: str
    status: str
    server_name: str | None = None
    server_version: str | None = None
    protocol_version: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # suite -> outcome -> n


@dataclass(frozen=True)
class GateItem:
    item: str
    status: str  # pass | fail | not evaluated
    evidence: list[str]


@dataclass(frozen=True)
class GateReport:
    environment: str
    verdict: str
    started_at: datetime
    finished_at: datetime
    services: list[ServiceSummary]
    checks: list[CheckResult]
    gate: list[GateItem]

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(c.outcome for c in self.checks)
        return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.outcome in BLOCKING]


def build_gate(
    results: Sequence[CheckResult],
    *,
    environment: str,
    service_ids: Sequence[str],
    started_at: datetime,
    finished_at: datetime,
    runbooks_dir: Path | None,
) -> GateReport:
    checks = sorted(results, key=lambda c: (c.service, c.id, c.nodeid))
    services = [_summarize(sid, [c for c in checks if c.service == sid]) for sid in sorted(service_ids)]
    failing_services = any(s.status == "fail" for s in services)
    verdict = "fail" if failing_services or any(c.outcome in BLOCKING for c in checks) else "pass"
    gate = [_gate_item(name, prefixes, checks, runbooks_dir) for name, prefixes in GATE_ITEMS]
    return GateReport(environment, verdict, started_at, finished_at, services, checks, gate)


def _summarize(service_id: str, checks: Sequence[CheckResult]) -> ServiceSummary:
    counts: dict[str, Counter[str]] = {}
    for check in checks:
        counts.setdefault(check.id.split(".", 1)[0], Counter())[check.outcome] += 1
    handshake = next((c for c in checks if c.id == "health.handshake" and c.outcome == "pass"), None)
    server: dict[str, Any] = handshake.evidence.get("server", {}) if handshake else {}
    status = "fail" if any(c.outcome in BLOCKING for c in checks) or not checks else "pass"
    return ServiceSummary(
        id=service_id,
        status=status,
        server_name=server.get("name"),
        server_version=server.get("version"),
        protocol_version=handshake.evidence.get("protocol_version") if handshake else None,
        counts={suite: dict(c) for suite, c in counts.items()},
    )


def _gate_item(
    name: str, prefixes: tuple[str, ...], checks: Sequence[CheckResult], runbooks_dir: Path | None
) -> GateItem:
    if name.startswith("Incident response"):
        return _runbooks_item(name, checks, runbooks_dir)
    if name.startswith("CI/CD"):
        return GateItem(name, NOT_EVALUATED, ["the gate's own exit status, recorded by the CI pipeline"])
    relevant = [c for c in checks if c.id.startswith(prefixes) and c.outcome != "skip"]
    if not relevant:
        return GateItem(name, NOT_EVALUATED, [f"no {', '.join(p.rstrip('.') for p in prefixes)} checks ran"])
    failed = [c for c in relevant if c.outcome in BLOCKING]
    status = "fail" if failed else "pass"
    evidence = [f"{p}* {sum(1 for c in relevant if c.id.startswith(p))} checks" for p in prefixes]
    evidence += [f"{c.id} [{c.service}] {c.outcome}" for c in failed[:10]]
    return GateItem(name, status, evidence)


def _runbooks_item(name: str, checks: Sequence[CheckResult], runbooks_dir: Path | None) -> GateItem:
    if runbooks_dir is None or not runbooks_dir.is_dir():
        return GateItem(name, NOT_EVALUATED, ["no runbooks directory"])
    failing = sorted({c.id for c in checks if c.outcome in BLOCKING})
    missing = [cid for cid in failing if not (runbooks_dir / f"{cid}.md").exists()]
    if missing:
        return GateItem(name, "fail", [f"no runbook for {cid}" for cid in missing])
    return GateItem(name, "pass", [f"runbook {cid}.md" for cid in failing] or ["no failing checks"])
