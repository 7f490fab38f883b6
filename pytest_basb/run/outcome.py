"""Turning a test's report into the `CheckResult` the gate counts (worker side)."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_basb.model.mcp_data import ServiceError
from pytest_basb.model.results import CheckResult
from pytest_basb.report.gate import ENVIRONMENT_WIDE_PREFIX
from pytest_basb.run.policy import apply_policy
from pytest_basb.run.state import RESULT_KEY, BasbState


def result_for(
    item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None], state: BasbState
) -> CheckResult | None:
    marker = item.get_closest_marker("basb_check")
    judged = item.stash.get(RESULT_KEY, None)
    # An environment-wide check (monitoring.rules) has no service parameter: its verdict names its subject.
    service_id = service_of(item) or (judged.service if judged is not None else environment_wide_subject(item, state))
    if marker is None or service_id is None:
        return None
    if report.when != "call" and report.passed:
        return None
    if judged is not None and report.when == "call":
        return dataclasses.replace(judged, duration_s=round(report.duration, 4))
    if report.skipped:
        outcome, message = "skip", skip_reason(report)
    elif call.excinfo is not None and call.excinfo.errisinstance(ServiceError):
        outcome, message = "fail", str(call.excinfo.value)
    elif report.passed:
        outcome, message = "pass", None
    else:
        outcome = (
            "fail"
            if report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
            else "error"
        )
        message = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else report.outcome
    result = CheckResult(
        id=str(marker.args[0]),
        service=service_id,
        outcome=outcome,  # type: ignore[arg-type]
        duration_s=round(report.duration, 4),
        message=state.redactor.text(message) if message else None,
        environment=state.environment.name if state.environment else "",
        nodeid=item.nodeid,
        blocked_by=blocked_cause(call) if report.skipped else None,
    )
    return apply_policy(state, result)  # the check policy and the waivers in force


def blocked_cause(call: pytest.CallInfo[None]) -> str | None:
    """The check whose failure kept this one from running (it raised a blocked `ServiceError`)."""
    if call.excinfo is None or not call.excinfo.errisinstance(ServiceError):
        return None
    return getattr(call.excinfo.value, "blocked_by", None)


def as_blocked_skip(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """A check blocked by another's failure is reported to pytest as skipped, with the cause."""
    if report.when != "call" or blocked_cause(call) is None:
        return
    assert call.excinfo is not None
    path, line = item.reportinfo()[:2]
    report.outcome = "skipped"
    report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {call.excinfo.value}")


def service_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    value = callspec.params.get("basb_service")
    for name in ("basb_declared_call", "basb_flow"):  # (service, index) and (home service, flow name)
        if value is None and name in callspec.params:
            pair = callspec.params[name]
            value = pair[0] if pair else None
    return str(value) if value is not None else None


def environment_wide_subject(item: pytest.Item, state: BasbState) -> str | None:
    """`@<environment>` for an environment-wide monitoring check of an environment with `monitoring:`
    (so one the policy turns off is still reported); None for any other test."""
    environment = state.environment
    if environment is None or environment.monitoring is None:
        return None
    if "basb_monitoring" not in getattr(item, "fixturenames", ()) or service_of(item) is not None:
        return None
    return ENVIRONMENT_WIDE_PREFIX + environment.name


def service_in_nodeid(nodeid: str) -> str | None:
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    return nodeid[nodeid.rindex("[") + 1 : -1].split(":", 1)[0]


def role_unmatched(item: pytest.Item) -> bool:
    """A role suite with no service of its role, or the flow suite of an environment without flows."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and None in (
        callspec.params.get("basb_service", ""),
        callspec.params.get("basb_flow", ""),
    )


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
