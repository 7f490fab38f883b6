"""What a finished check adds to its test report: the result for the controller, Allure attachments
and policy labels."""

from __future__ import annotations

import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.run.state import BasbState


def attach_evidence(item: pytest.Item, state: BasbState, result: CheckResult) -> None:
    from pytest_basb.run.allure_labels import allure_enabled, attach_exchange, attach_result

    if not allure_enabled(item.config):
        return
    attach_result(result)
    session = state.sessions.get(result.service)
    if session is not None:
        attach_exchange(session.transcript.as_json())


def label_policy(item: pytest.Item, result: CheckResult) -> None:
    changed = result.waiver is not None or (result.policy or {}).get("level", "block") != "block"
    if not changed:
        return
    from pytest_basb.run.allure_labels import allure_enabled, label_policy

    if allure_enabled(item.config):
        label_policy(result)
