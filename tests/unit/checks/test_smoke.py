"""Smoke checks from plain data: expected surface, schema validity, tool names, declared calls, the
unknown-tool probe and read-all listings."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb.checks import smoke
from pytest_basb.inventory.load import Expectations, SmokeCall
from pytest_basb.model.json_schema import schema_problem
from pytest_basb.model.mcp_data import ToolCallOutcome

OBJECT: dict[str, Any] = {"type": "object", "properties": {"q": {"type": "string"}}}
COUNT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}


def answer(structured: Any = None, text: str = "", *, is_error: bool = False, **more: Any) -> ToolCallOutcome:
    return ToolCallOutcome(is_error=is_error, structured_content=structured, text=text, **more)


def call(expect_schema: dict[str, Any] | None = None, **kw: Any) -> SmokeCall:
    return SmokeCall(tool="search", expect_schema=expect_schema, **kw)


# -- expected surface -------------------------------------------------------------------------------


def test_expected_surface_names_everything_missing() -> None:
    expect = Expectations(tools=("search", "reindex"), resources=("note://a",), prompts=("summarize",))
    result = smoke.expected_present("s", expect, tools=["search"], resources=None, prompts=["summarize"])
    assert result.outcome == "fail"
    assert result.message == "missing: tool reindex, resource note://a"
    ok = smoke.expected_present("s", expect, tools=["reindex", "search"], resources=["note://a"], prompts=["summarize"])
    assert ok.outcome == "pass"


def test_expected_surface_skips_when_nothing_is_expected() -> None:
    assert smoke.expected_present("s", Expectations(), tools=[], resources=None, prompts=None).outcome == "skip"


# -- schemas and names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (OBJECT, None),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, None),
        ([], "not an object but list"),
        ({"$schema": "https://example.org/my-dialect", "type": "object"}, "unknown $schema dialect"),
        ({"type": "object", "properties": {"x": {"type": 12}}}, "at properties/x/type:"),
        ({"type": "object", "required": "q"}, "at required:"),
    ],
)
def test_schema_problem(schema: Any, problem: str | None) -> None:
    found = schema_problem(schema)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem), found


def test_tool_schemas_checks_inputs_and_outputs() -> None:
    tools: list[dict[str, Any]] = [
        {"name": "ok", "inputSchema": OBJECT, "outputSchema": COUNT_SCHEMA},
        {"name": "bare"},
        {"name": "array", "inputSchema": {"type": "array"}},
        {"name": "broken_out", "inputSchema": OBJECT, "outputSchema": {"type": "nope"}},
    ]
    result = smoke.tool_schemas("s", tools)
    assert result.outcome == "fail"
    problems = result.evidence["problems"]
    assert problems[:2] == ["bare: inputSchema missing", 'array.inputSchema must have type "object"']
    assert problems[2].startswith("broken_out.outputSchema at type:")
    assert len(problems) == 3
    assert result.evidence["tools"] == 4
    assert smoke.tool_schemas("s", tools[:1]).outcome == "pass"


def test_tool_names_warn_on_bad_names_and_duplicates() -> None:
    assert smoke.tool_names("s", ["search", "notes.read", "a-b_c"]).outcome == "pass"
    result = smoke.tool_names("s", ["search", "bad name!", "search", "x" * 129])
    assert (result.outcome, result.severity) == ("warn", "warn")
    assert result.evidence["invalid"] == ["bad name!", "x" * 129]
    assert "'search' is listed more than once" in (result.message or "")


# -- declared calls ---------------------------------------------------------------------------------


def test_a_json_rpc_error_fails_the_call() -> None:
    result = smoke.smoke_call(
        "s", call(), answer(error_code=-32602, error_message="bad params"), output_schema=None, latency_s=0.1
    )
    assert (result.outcome, result.message) == ("fail", "search: JSON-RPC error bad params")


def test_the_sdks_own_output_validation_error_fails_the_call() -> None:
    outcome = answer({"count": "x"}, validation_error="Output validation error: 'x' is not of type 'integer'")
    result = smoke.smoke_call("s", call(), outcome, output_schema=COUNT_SCHEMA, latency_s=0.1)
    assert result.message == "search: Output validation error: 'x' is not of type 'integer'"


@pytest.mark.parametrize("label", ["outputSchema", "expect.schema"])
def test_structured_content_is_checked_against_both_schemas(label: str) -> None:
    output_schema, expect_schema = (COUNT_SCHEMA, None) if label == "outputSchema" else (None, COUNT_SCHEMA)
    good = smoke.smoke_call("s", call(expect_schema), answer({"count": 3}), output_schema=output_schema, latency_s=0)
    assert good.outcome == "pass"
    bad = smoke.smoke_call("s", call(expect_schema), answer({"count": "3"}), output_schema=output_schema, latency_s=0)
    assert bad.outcome == "fail"
    assert bad.message is not None
    assert bad.message.startswith(f"search: structuredContent breaks {label}: at count:")
    missing = smoke.smoke_call("s", call(expect_schema), answer(None, "3"), output_schema=output_schema, latency_s=0)
    assert missing.message == f"search: no structuredContent to check against {label}"


def test_an_expected_error_is_not_checked_against_the_schemas() -> None:
    outcome = answer(None, "no such note", is_error=True)
    result = smoke.smoke_call("s", call(expect_is_error=True), outcome, output_schema=COUNT_SCHEMA, latency_s=0.5)
    assert result.outcome == "pass"
    assert result.evidence == {"tool": "search", "latency_s": 0.5, "is_error": True}


def test_answered_prefers_structured_content_sorted_then_text() -> None:
    assert smoke.answered(answer({"b": 1, "a": "é"}, "ignored")) == '{"a": "é", "b": 1}'
    assert smoke.answered(answer(None, "plain")) == "plain"
    assert smoke.answered(answer(None, "")) == "(no content)"
    long = smoke.answered(answer(None, "x" * 500))
    assert len(long) <= smoke.ANSWER_LIMIT
    assert long.startswith("xxx")


# -- unknown tool -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "alive", "expected", "words"),
    [
        (answer(error_code=-32601), True, "pass", None),
        (answer(error_code=-32602), True, "pass", None),
        (answer(error_code=-32000), True, "warn", "unexpected code -32000"),
        (answer(None, "Unknown tool", is_error=True), True, "warn", "isError result, not a JSON-RPC error"),
        (answer(None, "fine"), True, "fail", "was answered as a success"),
        (answer(error_code=-32601), False, "fail", "stopped working after calling unknown tool"),
    ],
)
def test_unknown_tool(outcome: ToolCallOutcome, alive: bool, expected: str, words: str | None) -> None:
    result = smoke.unknown_tool("s", smoke.UNKNOWN_TOOL, outcome, still_alive=alive, alive_error="closed")
    assert result.outcome == expected
    if words is not None:
        assert words in (result.message or "")
    assert result.evidence["tool"] == smoke.UNKNOWN_TOOL


# -- read all ---------------------------------------------------------------------------------------


def test_read_all_lists_the_first_failures_by_name() -> None:
    failures = {f"note://{i}": "not found" for i in range(7)}
    result = smoke.read_all("smoke.resources_read", "s", "resources", failures, total=9)
    assert result.outcome == "fail"
    assert (result.message or "").startswith("7 of 9 resources failed: note://0: not found; note://1")
    assert (result.message or "").count("not found") == 5  # the first five; the evidence has all
    assert result.evidence["failed"] == sorted(failures)
    assert smoke.read_all("smoke.resources_read", "s", "resources", {}, total=3).outcome == "pass"
    skipped = smoke.read_all("smoke.prompts_get", "s", "prompts", {}, total=0)
    assert (skipped.outcome, skipped.message) == ("skip", "the server lists no prompts")


def test_listing_keeps_names_and_pages() -> None:
    items = [{"name": f"t{i}"} for i in range(60)]
    result = smoke.listing("smoke.tools_listed", "s", items, pages=3)
    assert (result.evidence["count"], result.evidence["pages"]) == (60, 3)
    assert result.evidence["names"] == [f"t{i}" for i in range(50)]
