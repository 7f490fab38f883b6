"""The one record every check produces, shared by checks, plugin and report writers.

A `CheckResult` is plain data (JSON-safe evidence), so it can ride on a pytest report from an
xdist worker to the controller as a `user_properties` entry and be rebuilt there unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "fail", "warn", "error", "skip", "waived"]
Severity = Literal["fail", "warn"]
# waived: a failure a waiver of the inventory accepts for now (never a pass; see pytest_basb/policy).
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "warn", "error", "skip", "waived")

# Key under which a result travels in `TestReport.user_properties`.
RESULT_PROPERTY = "basb_result"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check against one service.

    `severity` says what a violation costs: "fail" blocks the gate, "warn" is reported only
    (the spec says SHOULD, or real servers commonly differ).
    """

    id: str  # stable check id, e.g. "health.handshake"
    service: str
    outcome: Outcome
    severity: Severity = "fail"
    duration_s: float = 0.0
    message: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    environment: str = ""
    nodeid: str = ""
    policy: dict[str, str] | None = None  # {level, source}: the check policy in force (policy/levels.py)
    waiver: dict[str, str] | None = None  # {reason, expires, source, state}: the waiver that covered it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        # Shallow: evidence is JSON-safe data already, and asdict's deep copy costs per check.
        return json.dumps({name: getattr(self, name) for name in _FIELDS}, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


_FIELDS = tuple(CheckResult.__dataclass_fields__)


def passed(check_id: str, service: str, **evidence: Any) -> CheckResult:
    return CheckResult(id=check_id, service=service, outcome="pass", evidence=evidence)


def violated(
    check_id: str,
    service: str,
    message: str,
    *,
    severity: Severity = "fail",
    evidence: Mapping[str, Any] | None = None,
    **more: Any,
) -> CheckResult:
    """A check that found a problem: "fail" or "warn" depending on the severity."""
    outcome: Outcome = "fail" if severity == "fail" else "warn"
    facts = {**(evidence or {}), **more}
    return CheckResult(
        id=check_id, service=service, outcome=outcome, severity=severity, message=message, evidence=facts
    )


def skipped(check_id: str, service: str, reason: str) -> CheckResult:
    return CheckResult(id=check_id, service=service, outcome="skip", message=reason)
