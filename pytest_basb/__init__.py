"""pytest-basb: a deployment gate for MCP-based Building-a-Second-Brain services.

This module is the public API: what a team's own suite imports to write a check (the shipped
suites use nothing else; see docs/reference/api.md). A check is a pytest test that takes the
`basb_service` fixture (a `ServiceUnderTest`), asks the service through `basb_service.session`,
judges the answer with a pure function from `pytest_basb.checks` or its own, and records the
verdict with `basb_service.judge(passed(...) | violated(...) | skipped(...))` under a stable id
given by `@pytest.mark.basb_check("team.my_check")`.

Names load on first use, so `import pytest_basb` (and loading the plugin) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_basb.model.version import __version__

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from pytest_basb.connection import security_probe as probes
    from pytest_basb.connection.http_probe import client as http_client
    from pytest_basb.connection.session import ServiceSession as ServiceSession
    from pytest_basb.flows.model import Flow as Flow
    from pytest_basb.flows.model import FlowStep as FlowStep
    from pytest_basb.inventory.load import Environment as Environment
    from pytest_basb.inventory.load import Expectations as Expectations
    from pytest_basb.inventory.load import ServiceConfig as ServiceConfig
    from pytest_basb.inventory.load import SmokeCall as SmokeCall
    from pytest_basb.model.listings import Prompt as Prompt
    from pytest_basb.model.listings import Resource as Resource
    from pytest_basb.model.listings import Tool as Tool
    from pytest_basb.model.mcp_data import Handshake as Handshake
    from pytest_basb.model.mcp_data import ServiceError as ServiceError
    from pytest_basb.model.mcp_data import ToolCallOutcome as ToolCallOutcome
    from pytest_basb.model.results import CheckResult as CheckResult
    from pytest_basb.model.results import Outcome as Outcome
    from pytest_basb.model.results import Severity as Severity
    from pytest_basb.model.results import passed as passed
    from pytest_basb.model.results import skipped as skipped
    from pytest_basb.model.results import violated as violated
    from pytest_basb.regression.checks import Regression as Regression
    from pytest_basb.run.flow_runner import FlowUnderTest as FlowUnderTest
    from pytest_basb.run.harness import BasbCheckWarning as BasbCheckWarning
    from pytest_basb.run.harness import DeclaredCall as DeclaredCall
    from pytest_basb.run.harness import ServiceUnderTest as ServiceUnderTest
    from pytest_basb.run.monitoring import MonitoringUnderTest as MonitoringUnderTest

# public name -> (module, attribute or None for the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # the service under test and how to call it
    "ServiceUnderTest": ("pytest_basb.run.harness", "ServiceUnderTest"),
    "DeclaredCall": ("pytest_basb.run.harness", "DeclaredCall"),
    "ServiceSession": ("pytest_basb.connection.session", "ServiceSession"),
    "ServiceError": ("pytest_basb.model.mcp_data", "ServiceError"),
    "Handshake": ("pytest_basb.model.mcp_data", "Handshake"),
    "ToolCallOutcome": ("pytest_basb.model.mcp_data", "ToolCallOutcome"),
    "Tool": ("pytest_basb.model.listings", "Tool"),
    "Resource": ("pytest_basb.model.listings", "Resource"),
    "Prompt": ("pytest_basb.model.listings", "Prompt"),
    # declared flows (the inventory's `flows:`) and the fixture object that runs one
    "FlowUnderTest": ("pytest_basb.run.flow_runner", "FlowUnderTest"),
    "Flow": ("pytest_basb.flows.model", "Flow"),
    "FlowStep": ("pytest_basb.flows.model", "FlowStep"),
    # the environment's Prometheus and Alertmanager (the inventory's `monitoring:`)
    "MonitoringUnderTest": ("pytest_basb.run.monitoring", "MonitoringUnderTest"),
    # the check result record and the ways to make one
    "CheckResult": ("pytest_basb.model.results", "CheckResult"),
    "Outcome": ("pytest_basb.model.results", "Outcome"),
    "Severity": ("pytest_basb.model.results", "Severity"),
    "passed": ("pytest_basb.model.results", "passed"),
    "violated": ("pytest_basb.model.results", "violated"),
    "skipped": ("pytest_basb.model.results", "skipped"),
    "BasbCheckWarning": ("pytest_basb.run.harness", "BasbCheckWarning"),
    # the inventory as the run resolved it
    "Environment": ("pytest_basb.inventory.load", "Environment"),
    "ServiceConfig": ("pytest_basb.inventory.load", "ServiceConfig"),
    "SmokeCall": ("pytest_basb.inventory.load", "SmokeCall"),
    "Expectations": ("pytest_basb.inventory.load", "Expectations"),
    # what the shipped suites use beyond MCP: plain HTTP, raw transport probes, baselines
    "http_client": ("pytest_basb.connection.http_probe", "client"),
    "probes": ("pytest_basb.connection.security_probe", None),
    "Regression": ("pytest_basb.regression.checks", "Regression"),
}

__all__ = [
    "BasbCheckWarning",
    "CheckResult",
    "DeclaredCall",
    "Environment",
    "Expectations",
    "Flow",
    "FlowStep",
    "FlowUnderTest",
    "Handshake",
    "MonitoringUnderTest",
    "Outcome",
    "Prompt",
    "Regression",
    "Resource",
    "ServiceConfig",
    "ServiceError",
    "ServiceSession",
    "ServiceUnderTest",
    "Severity",
    "SmokeCall",
    "Tool",
    "ToolCallOutcome",
    "__version__",
    "http_client",
    "passed",
    "probes",
    "skipped",
    "violated",
]
assert set(__all__) == {"__version__", *_EXPORTS}  # one list of the public names


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_basb' has no attribute {name!r}") from None
    # Not cached in this module: a test runner that unloads modules between in-process runs (pytester)
    # must get the class the suites' own imports see, never one of an unloaded copy.
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


def __dir__() -> list[str]:
    return sorted(__all__)
