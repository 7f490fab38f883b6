"""Test generation: the suites' tests parametrized per service (sorted ids, so xdist workers collect
the same tests), per declared smoke call and per flow; what -m drops is built once, not per service."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_basb.run.state import BasbState

SUITE_MARKERS = {
    "health": "health checks: the service is up and speaks MCP (quick liveness probe)",
    "smoke": "smoke checks: the core surface works (the CI gate runs -m smoke)",
    "regression": "regression checks: the surface and results match the committed baseline",
    "security": "security checks: auth, origin, TLS, tool poisoning, secrets",
    "monitoring": "monitoring checks: metrics endpoints serve Prometheus data (also run by -m smoke)",
    "flow": "declared flows across services (flows: in the inventory; smoke: true ones also run by -m smoke)",
    "drill": "incident drills: stop, hang and crash each service on purpose (only when -m names drill)",
}


def drills_not_asked(config: pytest.Config, items: list[pytest.Item]) -> list[pytest.Item]:
    """Drills break services on purpose: they run only when the -m expression names `drill`, never in a
    plain run, a `-m smoke` run or a `-m "not regression"` run."""
    if "drill" in re.findall(r"[A-Za-z_][\w.-]*", str(config.option.markexpr or "")):
        return []
    return [item for item in items if item.get_closest_marker("drill") is not None]


def env_name(state: BasbState) -> str:
    return state.environment.name if state.environment else ""


def parametrize_flows(metafunc: pytest.Metafunc, state: BasbState) -> None:
    """One test per declared flow, under its check id `flow.<name>`; `smoke: true` adds the smoke marker
    (so -m decides per flow, not by the test function's own markers)."""
    flows = state.environment.flows if state.environment else ()
    values = [
        pytest.param(
            (flow.home, flow.name),
            id=f"{flow.home}:{flow.name}",
            marks=[pytest.mark.basb_check(flow.check_id), *([pytest.mark.smoke] if flow.smoke else [])],
        )
        for flow in flows
    ]
    parametrize(metafunc, "basb_flow", values, [], "this environment declares no flows")


def suite_markers_only(config: pytest.Config) -> bool:
    names = set(re.findall(r"[A-Za-z_][\w.-]*", str(config.option.markexpr or ""))) - {"and", "or", "not"}
    return bool(names) and names <= SUITE_MARKERS.keys()


def parametrize(metafunc: pytest.Metafunc, name: str, values: list[Any], ids: list[str], reason: str) -> None:
    if not values:
        # One visible skip with the reason beats pytest's anonymous "empty parameter set".
        values, ids = [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ["none"]
    metafunc.parametrize(name, values, ids=ids or None, indirect=True)
