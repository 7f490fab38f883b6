"""Check policy and waivers in a run: `off` checks skipped before they run, and every result judged
with the environment's policy and waivers (pytest_basb/policy) where its outcome is made."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.policy.apply import off_reason, with_policy
from pytest_basb.run.state import BasbState

OFF_KEY = pytest.StashKey[str]()  # on an item the policy turns off: the skip reason


def run_date(worker_input: dict[str, object] | None) -> date:
    """The date every waiver of this run is judged against: the controller's start date (UTC)."""
    if worker_input is not None and "basb_run_date" in worker_input:
        return date.fromisoformat(str(worker_input["basb_run_date"]))
    return datetime.now(UTC).date()


def apply_policy(state: BasbState, result: CheckResult) -> CheckResult:
    environment = state.environment
    if environment is None:
        return result
    return with_policy(result, environment.policy, environment.waivers, state.run_date)


def turn_off(state: BasbState, items: list[pytest.Item]) -> None:
    """Checks at level `off` become skips "off by policy (<where>)" that never run: no fixture is
    set up, and no request is sent for them (the prefetch leaves them out)."""
    environment = state.environment
    if environment is None or not environment.policy:
        return
    from pytest_basb.run.outcome import environment_wide_subject, service_of

    for item in items:
        marker = item.get_closest_marker("basb_check")
        service = service_of(item) or environment_wide_subject(item, state)
        if marker is None or service is None:
            continue
        reason = off_reason(environment.policy, str(marker.args[0]), service)
        if reason is not None:
            item.stash[OFF_KEY] = reason
            item.add_marker(pytest.mark.skip(reason=reason))


def is_off(item: pytest.Item) -> bool:
    return OFF_KEY in item.stash
