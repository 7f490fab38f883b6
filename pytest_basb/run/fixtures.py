"""Fixtures the suites use; re-exported by `plugin.py` so the entry point registers them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_basb.run.state import STATE_KEY, BasbState

if TYPE_CHECKING:  # imported inside the fixtures: loading the plugin stays cheap
    from pytest_basb.inventory.load import Environment
    from pytest_basb.run.flow_runner import FlowUnderTest
    from pytest_basb.run.harness import DeclaredCall, ServiceUnderTest
    from pytest_basb.run.monitoring import MonitoringUnderTest


def _state(request: pytest.FixtureRequest) -> BasbState:
    state = request.config.stash[STATE_KEY]
    if not state.active:
        pytest.skip("pytest-basb is inert: no environment given (use --basb-env=NAME)")
    return state


@pytest.fixture(scope="session")
def basb_environment(request: pytest.FixtureRequest) -> Environment:
    """The resolved environment under test (services, vault), from `--basb-env`."""
    environment = _state(request).environment
    assert environment is not None
    return environment


@pytest.fixture
def basb_service(request: pytest.FixtureRequest) -> ServiceUnderTest:
    """One service of the environment; tests using it run once per service (by role if marked)."""
    state = _state(request)
    assert state.environment is not None
    from pytest_basb.run.harness import ServiceUnderTest

    service_id: str = request.param
    return ServiceUnderTest(state, state.environment.service(service_id), request.node)


@pytest.fixture
def basb_declared_call(request: pytest.FixtureRequest) -> DeclaredCall:
    """One `smoke:` entry of one service from the inventory."""
    state = _state(request)
    assert state.environment is not None
    from pytest_basb.run.harness import DeclaredCall, ServiceUnderTest

    service_id, index = request.param
    config = state.environment.service(service_id)
    return DeclaredCall(ServiceUnderTest(state, config, request.node), config.smoke[index], index)


@pytest.fixture
def basb_flow(request: pytest.FixtureRequest) -> FlowUnderTest:
    """One declared flow of the environment (`flows:` in the inventory); tests using it run once per flow."""
    state = _state(request)
    assert state.environment is not None
    from pytest_basb.run.flow_runner import FlowUnderTest

    _home, name = request.param
    return FlowUnderTest(state, state.environment.flow(name), request.node)


@pytest.fixture
def basb_monitoring(request: pytest.FixtureRequest) -> MonitoringUnderTest:
    """The environment's Prometheus and Alertmanager (`monitoring:`); the test skips without one."""
    from pytest_basb.run.monitoring import MonitoringUnderTest

    return MonitoringUnderTest.of(_state(request), request.node)


@pytest.fixture(scope="session")
def basb_vault(request: pytest.FixtureRequest) -> Path:
    """The throwaway copy of the environment's seed vault that the services work on."""
    state = _state(request)
    if state.throwaway_vault is None:
        pytest.skip("this environment has no seed_vault, so there is no throwaway vault to inspect")
    return state.throwaway_vault


@pytest.fixture
def basb_service_for_role(request: pytest.FixtureRequest) -> Callable[[str], ServiceUnderTest | None]:
    """Look up another service of the environment by BASB role (for flows across roles)."""
    from pytest_basb.run.harness import ServiceUnderTest

    state = _state(request)
    assert state.environment is not None
    environment = state.environment

    def lookup(role: str) -> ServiceUnderTest | None:
        config = environment.first_of_role(role)
        return ServiceUnderTest(state, config, request.node) if config is not None else None

    return lookup
