"""A check's outcome with the policy and the waivers applied: what the gate counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from pytest_basb.model.results import CheckResult
from pytest_basb.policy.levels import Policy
from pytest_basb.policy.waivers import Waiver, waiver_for

FAILING = frozenset({"fail", "error"})


def with_policy(result: CheckResult, policy: Policy, waivers: Sequence[Waiver], today: date) -> CheckResult:
    """Record the level in force on every result; a failure covered by a waiver in force becomes
    `waived`, one under `warn` becomes `warn`. A waiver that covered it but has expired no longer
    applies: the failure stays and its message names that waiver."""
    decision = policy.decide(result.id, result.service)
    result = dataclasses.replace(result, policy=decision.to_dict())
    if result.outcome not in FAILING:
        return result
    waiver, expired = waiver_for(waivers, result.id, result.service, today)
    if waiver is not None:
        return dataclasses.replace(result, outcome="waived", waiver=waiver.to_dict(today))
    if expired is not None:
        note = f"{expired.describe()} has expired and no longer applies (reason was: {expired.reason})"
        message = f"{result.message} — {note}" if result.message else note
        result = dataclasses.replace(result, message=message, waiver=expired.to_dict(today))
    if decision.level == "warn":
        note = f"reported as a warning by policy ({decision.source})"
        message = f"{result.message} — {note}" if result.message else note
        return dataclasses.replace(result, outcome="warn", message=message)
    return result


def off_reason(policy: Policy, check_id: str, service: str) -> str | None:
    """`off by policy (service notes-a: security.auth_metadata)` when the check must not run."""
    decision = policy.decide(check_id, service)
    return f"off by policy ({decision.source})" if decision.level == "off" else None
