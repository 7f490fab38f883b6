"""Role contracts: a service with a BASB role offers the tools its role's contract lists.

The contracts (`schemas/basb/<role>.json`) were taken from the reference services; a team's own
implementation is held to them: every contract tool is listed, accepts at least the contract's
required inputs, and declares an outputSchema that requires what the contract's requires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from pytest_basb.model.results import CheckResult, passed, skipped, violated


@cache
def role_contract(role: str) -> dict[str, Any]:
    text = resources.files("pytest_basb").joinpath(f"schemas/basb/{role}.json").read_text("utf-8")
    contract: dict[str, Any] = json.loads(text)
    return contract


def contract_conformance(service: str, role: str | None, tools: Sequence[Mapping[str, Any]]) -> CheckResult:
    check = "basb.contract"
    if role is None:
        return skipped(check, service, "the service declares no BASB contract (contract: basb/1 with a role)")
    contract = role_contract(role)
    listed = {str(t.get("name")): t for t in tools}
    problems: list[str] = []
    for spec in contract["tools"]:
        name = spec["name"]
        tool = listed.get(name)
        if tool is None:
            problems.append(f"tool {name} missing")
            continue
        problems += _compare(name, "inputSchema", spec.get("inputSchema"), tool.get("inputSchema"), inputs=True)
        problems += _compare(name, "outputSchema", spec.get("outputSchema"), tool.get("outputSchema"), inputs=False)
    evidence = {"role": role, "contract_tools": [t["name"] for t in contract["tools"]]}
    if problems:
        return violated(check, service, f"{role} contract: " + "; ".join(problems[:6]), evidence=evidence)
    return passed(check, service, **evidence)


def _compare(name: str, key: str, want: Any, got: Any, *, inputs: bool) -> list[str]:
    if not isinstance(want, Mapping):
        return []
    if not isinstance(got, Mapping):
        return [f"{name} has no {key}"]
    want_props, got_props = set(want.get("properties", {})), set(got.get("properties", {}))
    want_req, got_req = set(want.get("required", [])), set(got.get("required", []))
    if inputs:
        # Callers send the contract's arguments: each must be accepted, and no new one required.
        missing = sorted(want_props - got_props)
        extra_required = sorted(got_req - want_req)
        return [f"{name} does not accept {', '.join(missing)}"] * bool(missing) + [
            f"{name} requires {', '.join(extra_required)} beyond the contract"
        ] * bool(extra_required)
    # Callers read the contract's outputs: each required one must be promised.
    missing_out = sorted(want_req - got_req)
    return [f"{name} output does not require {', '.join(missing_out)}"] * bool(missing_out)
