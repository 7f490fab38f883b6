"""What a suite test holds: one service under test, and the way to record a check's verdict."""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from pytest_basb.inventory.load import Environment, ServiceConfig, SmokeCall
from pytest_basb.model.listings import Prompt, Resource, Tool
from pytest_basb.model.results import CheckResult
from pytest_basb.run.policy import apply_policy
from pytest_basb.run.state import RESULT_KEY, BasbState

if TYPE_CHECKING:
    from pytest_basb.connection.session import ServiceSession
    from pytest_basb.run.monitoring import MonitoringUnderTest


class BasbCheckWarning(UserWarning):
    """A check found something the spec only recommends (SHOULD), or that real servers differ on."""


class ServiceUnderTest:
    """A service of the environment for one test: its config, its shared session, and `judge`."""

    def __init__(self, state: BasbState, config: ServiceConfig, node: pytest.Item) -> None:
        self._state = state
        self.config = config
        self.endpoint = state.endpoints[config.id]
        self._node = node

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def session(self) -> ServiceSession:
        """The MCP session shared by every check of this service in this process."""
        marker = self._node.get_closest_marker("basb_check")
        check = str(marker.args[0]) if marker else self._node.name
        session = self._state.session(self.config.id, check)
        session.current_check = check
        return session

    @property
    def environment(self) -> Environment:
        """The environment this service belongs to, as the run resolved it."""
        environment = self._state.environment
        assert environment is not None
        return environment

    def tools(self) -> list[Tool]:
        """The service's tools (every page), typed; `session.tools()` gives the wire JSON."""
        return [Tool.from_wire(entry) for entry in self.session.tools()]

    def resources(self) -> list[Resource]:
        return [Resource.from_wire(entry) for entry in self.session.resources()]

    def prompts(self) -> list[Prompt]:
        return [Prompt.from_wire(entry) for entry in self.session.prompts()]

    def peer(self, service_id: str) -> ServiceUnderTest:
        """Another service of the environment, for a check across services (KeyError if unknown).
        Its requests count against this test's check."""
        return ServiceUnderTest(self._state, self.environment.service(service_id), self._node)

    def other_services_tools(self) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        """The tools of every other service of the environment, and the ids of those that could not
        be asked (their own checks say why). Listings another xdist worker fetched are read, not
        fetched again."""
        from pytest_basb.model.mcp_data import ServiceError

        tools: dict[str, list[dict[str, Any]]] = {}
        unreachable: list[str] = []
        for config in self.environment.services:
            if config.id == self.id:
                continue
            try:
                tools[config.id] = self._state.tools_of(config.id)
            except ServiceError:
                unreachable.append(config.id)
        return tools, unreachable

    def drill(self, mode: str) -> CheckResult:
        """Rehearse an incident on this service (`stopped`, `hung`, `crashed`; docs/drills.md): the
        drill's record, as a result to `judge`. The service works again afterwards, or is blocked."""
        from pytest_basb.report.incident import mode_runbook
        from pytest_basb.run.drills import run_drill
        from pytest_basb.run.shipped import runbook_dirs

        runbook = mode_runbook(runbook_dirs(self._node.config.rootpath), self.id, mode)
        return run_drill(self._state, self.config, mode, runbook)

    def judge(self, result: CheckResult) -> CheckResult:
        """Record `result` for the gate and make the test fail, warn or skip accordingly."""
        return record_verdict(self._state, self._node, result)

    @property
    def monitoring(self) -> MonitoringUnderTest:
        """The environment's monitoring stack (`monitoring:`); the test skips when there is none."""
        from pytest_basb.run.monitoring import MonitoringUnderTest

        return MonitoringUnderTest.of(self._state, self._node)


def record_verdict(state: BasbState, node: pytest.Item, result: CheckResult) -> CheckResult:
    """Record `result` on the test for the gate and make the test fail, warn or skip accordingly."""
    env = state.environment
    result = dataclasses.replace(
        result,
        message=state.redactor.text(result.message) if result.message else result.message,
        evidence=state.redactor.data(result.evidence),
        environment=env.name if env else "",
        nodeid=node.nodeid,
    )
    result = apply_policy(state, result)  # the check policy and the waivers in force
    node.stash[RESULT_KEY] = result
    label = f"{result.id} [{result.service}]"
    if result.outcome in ("fail", "error"):
        pytest.fail(f"{label}: {result.message}", pytrace=False)
    if result.outcome == "warn":
        warnings.warn(BasbCheckWarning(f"{label}: {result.message}"), stacklevel=3)
    if result.outcome == "waived" and result.waiver:
        waiver = result.waiver
        note = f"waived until {waiver['expires']} ({waiver['reason']})"
        warnings.warn(BasbCheckWarning(f"{label}: {note}: {result.message}"), stacklevel=3)
    if result.outcome == "skip":
        # Reported at the test's location, not here (as pytest does for skip markers).
        raise pytest.skip.Exception(f"{label}: {result.message}", _use_item_location=True)
    return result


@dataclasses.dataclass(frozen=True)
class DeclaredCall:
    """One `smoke:` entry of one service, as a test parameter."""

    service: ServiceUnderTest
    call: SmokeCall
    index: int
