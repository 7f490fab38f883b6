"""The daily note's drill lines: one per drill, then MTTD and MTTR (medians) per failure mode."""

from __future__ import annotations

from datetime import UTC, datetime

from pytest_basb.model.results import CheckResult
from pytest_basb.obsidian.daily import drill_lines
from pytest_basb.report.gate import ServiceSummary, build_gate

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def drill(service: str, mode: str, detected: float, recovered: float | None, outcome: str = "pass") -> CheckResult:
    evidence = {"mode": mode, "detected_s": detected, "alerted_s": None, "recovered_s": recovered, "why": ""}
    if outcome == "fail":
        evidence["why"] = "not recovered: launch failed"
    return CheckResult(f"drill.{mode}", service, outcome, evidence=evidence, nodeid=f"d::{mode}[{service}]")  # type: ignore[arg-type]


def lines_of(*checks: CheckResult) -> list[str]:
    services = sorted({c.service for c in checks})
    report = build_gate(
        list(checks), environment="t", services=[ServiceSummary(s) for s in services],
        started_at=T0, finished_at=T0, runbooks_dir=None, ci_ok=None,
    )  # fmt: skip
    return drill_lines(report)


def test_each_drill_and_the_medians_per_mode() -> None:
    lines = lines_of(
        drill("a", "hung", 2.0, 5.0),
        drill("b", "hung", 2.2, 7.0),
        drill("c", "hung", 1.8, 6.0),
        drill("a", "crashed", 0.1, None, outcome="fail"),
    )
    assert "- ✅ hung on `b`: detected 2.20 s, alerted —, recovered 7.00 s" in lines
    assert "- ❌ crashed on `a`: detected 0.10 s, alerted —, recovered — — `not recovered: launch failed`" in lines
    assert "- **hung**: MTTD 2.00 s, MTTR 6.00 s (median of 3 drills)" in lines
    assert "- **crashed**: MTTD 0.10 s, MTTR — (median of 1 drill)" in lines


def test_a_run_without_drills_has_no_drill_lines() -> None:
    health = CheckResult("health.handshake", "a", "pass", nodeid="h")
    skipped = CheckResult("drill.hung", "a", "skip", message="drills refused", nodeid="d")
    assert lines_of(health, skipped) == []
