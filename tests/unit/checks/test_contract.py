"""basb.contract against the shipped role contracts: a service is held to its role's tools, inputs and
promised outputs; the contract's own tools always conform."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pytest_basb.checks.contract import contract_conformance, role_contract

ROLES = ("vault", "capture", "organize", "distill", "express", "search")


def search_tools() -> list[dict[str, Any]]:
    return copy.deepcopy(role_contract("search")["tools"])


@pytest.mark.parametrize("role", ROLES)
def test_each_role_contract_accepts_its_own_tools(role: str) -> None:
    tools = role_contract(role)["tools"]
    result = contract_conformance("s", role, tools)
    assert result.outcome == "pass"
    assert result.evidence["contract_tools"] == [t["name"] for t in tools]


def test_no_role_skips() -> None:
    assert contract_conformance("s", None, []).outcome == "skip"


def test_a_missing_tool_fails() -> None:
    tools = [t for t in search_tools() if t["name"] != "backlinks"]
    result = contract_conformance("s", "search", tools)
    assert (result.outcome, result.message) == ("fail", "search contract: tool backlinks missing")


def test_inputs_must_accept_the_contract_and_require_nothing_more() -> None:
    tools = search_tools()
    search = next(t for t in tools if t["name"] == "search")
    del search["inputSchema"]["properties"]["tag"]
    search["inputSchema"]["required"] = ["query", "limit"]
    message = contract_conformance("s", "search", tools).message or ""
    assert "search does not accept tag" in message
    assert "search requires limit beyond the contract" in message


def test_extra_optional_inputs_and_outputs_are_allowed() -> None:
    tools = search_tools()
    search = next(t for t in tools if t["name"] == "search")
    search["inputSchema"]["properties"]["fuzzy"] = {"type": "boolean"}
    search["outputSchema"]["properties"]["took_ms"] = {"type": "number"}
    search["outputSchema"]["required"].append("took_ms")
    assert contract_conformance("s", "search", tools).outcome == "pass"


def test_outputs_must_promise_what_the_contract_promises() -> None:
    tools = search_tools()
    search = next(t for t in tools if t["name"] == "search")
    search["outputSchema"]["required"].remove("count")
    reindex = next(t for t in tools if t["name"] == "reindex")
    del reindex["outputSchema"]
    message = contract_conformance("s", "search", tools).message or ""
    assert "search output does not require count" in message
    assert "reindex has no outputSchema" in message
