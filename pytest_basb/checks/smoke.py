"""Smoke checks: the listed surface is well-formed and the core calls work."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_basb.inventory.load import Expectations, SmokeCall
from pytest_basb.model.json_schema import instance_problem, schema_problem
from pytest_basb.model.mcp_data import ToolCallOutcome
from pytest_basb.model.results import CheckResult, passed, skipped, violated
from pytest_basb.model.text import shorten

# The spec's tool-name guidance (2025-11-25): 1-128 chars of A-Z a-z 0-9 _ - . ; a SHOULD, hence "warn".
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# JSON-RPC "method not found" / "invalid params": how the spec says an unknown tool is rejected.
UNKNOWN_TOOL = "basb-gate-no-such-tool"  # the name smoke.unknown_tool calls
UNKNOWN_TOOL_CODES = (-32601, -32602)


def names(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(item.get("name")) for item in items]


def listing(check_id: str, service: str, items: Sequence[Mapping[str, Any]], *, pages: int) -> CheckResult:
    return passed(check_id, service, count=len(items), pages=pages, names=names(items)[:50])


def expected_present(
    service: str,
    expect: Expectations,
    *,
    tools: Sequence[str],
    resources: Sequence[str] | None,
    prompts: Sequence[str] | None,
) -> CheckResult:
    """Every tool, resource (by uri or name) and prompt named in `expect` is listed."""
    if not (expect.tools or expect.resources or expect.prompts):
        return skipped("smoke.expected_surface", service, "no expect.tools/resources/prompts configured")
    missing: list[str] = []
    missing += [f"tool {t}" for t in expect.tools if t not in tools]
    missing += [f"resource {r}" for r in expect.resources if r not in (resources or [])]
    missing += [f"prompt {p}" for p in expect.prompts if p not in (prompts or [])]
    evidence = {"expected_tools": list(expect.tools), "listed_tools": list(tools)[:50]}
    if missing:
        return violated("smoke.expected_surface", service, "missing: " + ", ".join(missing), evidence=evidence)
    return passed("smoke.expected_surface", service, **evidence)


def tool_schemas(service: str, tools: Sequence[Mapping[str, Any]]) -> CheckResult:
    """Every inputSchema and outputSchema is a valid JSON Schema; inputs are objects (spec MUST)."""
    problems: list[str] = []
    for tool in tools:
        name = tool.get("name")
        input_schema = tool.get("inputSchema")
        if input_schema is None:
            problems.append(f"{name}: inputSchema missing")
        else:
            if (why := schema_problem(input_schema)) is not None:
                problems.append(f"{name}.inputSchema {why}")
            elif input_schema.get("type") != "object":
                problems.append(f'{name}.inputSchema must have type "object"')
        output_schema = tool.get("outputSchema")
        if output_schema is not None and (why := schema_problem(output_schema)) is not None:
            problems.append(f"{name}.outputSchema {why}")
    evidence = {"tools": len(tools), "problems": problems[:20]}
    if problems:
        return violated("smoke.tool_schemas", service, "; ".join(problems[:5]), evidence=evidence)
    return passed("smoke.tool_schemas", service, **evidence)


def tool_names(service: str, tools: Sequence[str]) -> CheckResult:
    bad = [n for n in tools if not TOOL_NAME.match(n)]
    dupes = sorted({n for n in tools if list(tools).count(n) > 1})
    problems = [f"{n!r} breaks the naming rules (1-128 of A-Z a-z 0-9 _ - .)" for n in bad]
    problems += [f"{n!r} is listed more than once" for n in dupes]
    if problems:
        return violated("smoke.tool_names", service, "; ".join(problems[:5]), severity="warn", invalid=bad)
    return passed("smoke.tool_names", service, count=len(tools))


def smoke_call(
    service: str,
    call: SmokeCall,
    outcome: ToolCallOutcome,
    *,
    output_schema: Mapping[str, Any] | None,
    latency_s: float,
) -> CheckResult:
    """A declared tool call answered as expected, and its structuredContent fits its schemas."""
    evidence: dict[str, Any] = {
        "tool": call.tool,
        "latency_s": round(latency_s, 4),
        "is_error": outcome.is_error,
    }
    check = "smoke.call"
    if outcome.error_code is not None:
        return violated(check, service, f"{call.tool}: JSON-RPC error {outcome.error_message}", evidence=evidence)
    if outcome.validation_error is not None:
        return violated(check, service, f"{call.tool}: {outcome.validation_error}", evidence=evidence)
    expect_error = bool(call.expect_is_error)
    if outcome.is_error != expect_error:
        answer = answered(outcome)
        return violated(
            check,
            service,
            f"{call.tool}: isError is {outcome.is_error}, expected {expect_error}; the server answered: {answer}",
            evidence={**evidence, "answer": answer},
        )
    if not outcome.is_error:
        for label, schema in (("outputSchema", output_schema), ("expect.schema", call.expect_schema)):
            if schema is None:
                continue
            if outcome.structured_content is None:
                return violated(
                    check, service, f"{call.tool}: no structuredContent to check against {label}", evidence=evidence
                )
            if (why := instance_problem(outcome.structured_content, schema)) is not None:
                return violated(
                    check, service, f"{call.tool}: structuredContent breaks {label}: {why}", evidence=evidence
                )
    return passed(check, service, **evidence)


ANSWER_LIMIT = 200  # characters of a server's answer quoted in a message


def answered(outcome: ToolCallOutcome) -> str:
    """What the server answered, short: its structuredContent as JSON, else its text."""
    if outcome.structured_content is not None:
        text = json.dumps(outcome.structured_content, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = outcome.text or "(no content)"
    return shorten(text, ANSWER_LIMIT)


def unknown_tool(
    service: str, name: str, outcome: ToolCallOutcome, *, still_alive: bool, alive_error: str | None
) -> CheckResult:
    """An unknown tool is refused with a JSON-RPC error and the session keeps working."""
    check = "smoke.unknown_tool"
    evidence = {"tool": name, "error_code": outcome.error_code, "is_error": outcome.is_error}
    if not still_alive:
        return violated(
            check,
            service,
            f"the session stopped working after calling unknown tool {name!r}: {alive_error}",
            evidence=evidence,
        )
    if outcome.error_code is not None:
        if outcome.error_code in UNKNOWN_TOOL_CODES:
            return passed(check, service, **evidence)
        return violated(
            check,
            service,
            f"unknown tool refused with unexpected code {outcome.error_code}",
            severity="warn",
            evidence=evidence,
        )
    if outcome.is_error:
        # Common in practice (many SDKs answer this way); the spec asks for a protocol error.
        return violated(
            check,
            service,
            f"unknown tool {name!r} answered with an isError result, not a JSON-RPC error",
            severity="warn",
            evidence=evidence,
        )
    return violated(check, service, f"unknown tool {name!r} was answered as a success", evidence=evidence)


def read_all(check_id: str, service: str, what: str, failures: Mapping[str, str], total: int) -> CheckResult:
    """Every listed resource could be read / prompt could be got (failures by name)."""
    if total == 0:
        return skipped(check_id, service, f"the server lists no {what}")
    if failures:
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())[:5])
        return violated(
            check_id, service, f"{len(failures)} of {total} {what} failed: {detail}", failed=sorted(failures)
        )
    return passed(check_id, service, count=total)
