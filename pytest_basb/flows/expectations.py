"""Judging one answer of a flow step against its (rendered) `expect`, and reading what it `save`s.

The answer is seen as the tools/call result on the wire: `{"isError", "structuredContent",
"content": [{"type": "text", "text"}]}`; JSON pointers of `save` and `equals` point into that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_basb.flows.model import StepExpect
from pytest_basb.flows.pointer import PointerError, resolve
from pytest_basb.model.json_schema import instance_problem
from pytest_basb.model.mcp_data import ToolCallOutcome
from pytest_basb.model.text import shorten

QUOTE_LIMIT = 80  # characters of an expected or found value quoted in a problem


def answer_document(answer: ToolCallOutcome) -> dict[str, Any]:
    document: dict[str, Any] = {
        "isError": answer.is_error,
        "structuredContent": answer.structured_content,
        "content": [{"type": "text", "text": answer.text}] if answer.text else [],
    }
    if answer.error_code is not None or answer.error_message:
        document["error"] = {"code": answer.error_code, "message": answer.error_message}
    return document


def problems(expect: StepExpect, answer: ToolCallOutcome) -> list[str]:
    """What is wrong with `answer` (empty when every expectation holds)."""
    found: list[str] = []
    if expect.is_error is not None and answer.is_error != expect.is_error:
        found.append("the call failed" if answer.is_error else "the call succeeded, but an error was expected")
    elif expect.is_error is None and answer.is_error:
        found.append("the call failed")  # a step that does not say otherwise must succeed
    if answer.validation_error:
        found.append(f"the SDK refused the answer: {shorten(answer.validation_error, QUOTE_LIMIT)}")
    if expect.schema is not None and (why := instance_problem(answer.structured_content, expect.schema)):
        found.append(f"structuredContent does not fit expect.schema: {why}")
    for needle in expect.contains:
        if not _contains(answer, needle):
            found.append(f"the answer does not contain {_quote(needle)}")
    for needle in expect.absent:
        if _contains(answer, needle):
            found.append(f"the answer contains {_quote(needle)}, which must be absent")
    document = answer_document(answer)
    for equals in expect.equals:
        try:
            value = resolve(document, equals.pointer)
        except PointerError as exc:
            found.append(f"{equals.pointer}: {exc}")
            continue
        if value != equals.value:
            found.append(f"{equals.pointer} is {_quote(value)}, not {_quote(equals.value)}")
    return found


def saved_values(save: Mapping[str, str], answer: ToolCallOutcome) -> tuple[dict[str, Any], list[str]]:
    """(name -> value read at its pointer, problems for the pointers that name nothing)."""
    document = answer_document(answer)
    values: dict[str, Any] = {}
    missing: list[str] = []
    for name, pointer in save.items():
        try:
            values[name] = resolve(document, pointer)
        except PointerError as exc:
            missing.append(f"cannot save {name} from {pointer}: {exc}")
    return values, missing


def _contains(answer: ToolCallOutcome, needle: str) -> bool:
    """`needle` is in the text content, or in any string of structuredContent."""
    return needle in answer.text or any(needle in text for text in _strings(answer.structured_content))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _quote(value: Any) -> str:
    return shorten(json.dumps(value, ensure_ascii=False, default=str), QUOTE_LIMIT)
