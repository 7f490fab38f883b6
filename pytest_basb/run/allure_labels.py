"""Allure labels and attachments for suite tests; used only when `--alluredir` is given."""

from __future__ import annotations

from typing import Any

import pytest

SEVERITY_BY_SUITE = {
    "health": "blocker",
    "security": "critical",
    "smoke": "critical",
    "basb": "critical",
    "flow": "critical",
    "regression": "normal",
}


def allure_enabled(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None))


def label_test(item: pytest.Item, *, check_id: str, service: str, environment: str) -> None:
    """epic BASB, feature = service, story = suite, severity, tags for environment and check id."""
    import allure

    suite = check_id.split(".", 1)[0]
    allure.dynamic.epic("BASB")
    allure.dynamic.feature(service)
    allure.dynamic.story(suite)
    allure.dynamic.severity(SEVERITY_BY_SUITE.get(suite, "normal"))
    allure.dynamic.tag(f"env:{environment}", f"check:{check_id}")
    from pytest_basb.checks.findings import OWASP_BY_CHECK

    if check_id in OWASP_BY_CHECK:
        allure.dynamic.tag(*(f"owasp:{owasp}" for owasp in OWASP_BY_CHECK[check_id]))


def attach_exchange(transcript_json: str) -> None:
    """The MCP exchange (JSON-RPC requests and responses, already redacted) of a failed test."""
    import allure

    allure.attach(transcript_json, name="MCP exchange", attachment_type=allure.attachment_type.JSON)


def attach_result(result: Any) -> None:
    import allure

    allure.attach(result.to_json(), name="check result", attachment_type=allure.attachment_type.JSON)


def label_policy(result: Any) -> None:
    """A waived failure or a level set by policy, visible in Allure: tags `waived` / `policy:<level>`,
    the waiver's reason and expiry as a label, and the check result attached."""
    import allure

    policy = result.policy or {}
    if policy.get("level", "block") != "block":
        allure.dynamic.tag(f"policy:{policy['level']}")
        allure.dynamic.label("policy", str(policy.get("source", "")))
    if result.outcome == "waived" and result.waiver:
        allure.dynamic.tag("waived")
        allure.dynamic.label("waiver", f"{result.waiver.get('reason')} (until {result.waiver.get('expires')})")
        attach_result(result)


class _StepFailed(AssertionError):  # Allure calls an AssertionError "failed", anything else "broken"
    """Raised inside an Allure step so Allure marks it failed; caught right after."""


def record_step(title: str, attachments: dict[str, str], *, failed: bool) -> None:
    """One step of a flow as an Allure step, with its request, answer and MCP exchange attached."""
    import allure

    try:
        with allure.step(title):
            for name, text in attachments.items():
                allure.attach(text, name=name, attachment_type=allure.attachment_type.JSON)
            if failed:
                raise _StepFailed(title)
    except _StepFailed:
        pass
