"""Golden results: a declared call's answer recorded once and compared on every run, volatile parts
(dates, ids: `volatile.py`) left out by JSON pointer."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_basb.checks import volatile
from pytest_basb.checks.changes import canonical_json, value_text
from pytest_basb.model.results import CheckResult, passed, violated

MAX_DIFF_LINES = 20  # lines of a text diff quoted in a message


def golden_record(*, is_error: bool, structured_content: Any, text: str) -> dict[str, Any]:
    """What a golden call keeps: its structuredContent when it has one, its text otherwise."""
    if structured_content is not None:
        return {"is_error": is_error, "structured_content": structured_content}
    return {"is_error": is_error, "text": text}


def drop_pointers(value: Any, pointers: Sequence[str]) -> Any:
    """`value` without the parts at `pointers` (RFC 6901; a `*` segment matches every key or index)."""
    result = json.loads(json.dumps(value))
    for pointer in pointers:
        if pointer == "":
            return None
        result = _drop(result, [_unescape(p) for p in pointer.split("/")[1:]])
    return result


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _drop(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        for key in keys:
            if rest:
                value[key] = _drop(value[key], rest)
            else:
                del value[key]
    elif isinstance(value, list):
        indexes = range(len(value)) if head == "*" else [int(head)] if head.isdigit() and int(head) < len(value) else []
        if rest:
            for i in indexes:
                value[i] = _drop(value[i], rest)
        else:
            value = [v for i, v in enumerate(value) if i not in set(indexes)]
    return value


def json_diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences as `/pointer: expected X, got Y` lines (readable without a diff tool)."""
    where = path or "(root)"
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in actual:
                lines.append(f"{sub}: missing (expected {value_text(expected[key])})")
            elif key not in expected:
                lines.append(f"{sub}: unexpected (got {value_text(actual[key])})")
            else:
                lines += json_diff(expected[key], actual[key], sub)
        return lines
    if isinstance(expected, list) and isinstance(actual, list):
        lines = []
        if len(expected) != len(actual):
            lines.append(f"{where}: expected {len(expected)} items, got {len(actual)}")
        for i, (a, b) in enumerate(zip(expected, actual, strict=False)):
            lines += json_diff(a, b, f"{path}/{i}")
        for i in range(len(actual), len(expected)):
            lines.append(f"{path}/{i}: missing (expected {value_text(expected[i])})")
        for i in range(len(expected), len(actual)):
            lines.append(f"{path}/{i}: unexpected (got {value_text(actual[i])})")
        return lines
    if canonical_json(expected) != canonical_json(actual):
        return [f"{where}: expected {value_text(expected)}, got {value_text(actual)}"]
    return []


def golden_result(
    service: str, label: str, recorded: Mapping[str, Any] | None, actual: Mapping[str, Any], *, ignore: Sequence[str]
) -> CheckResult:
    """regression.golden: the call returns what the baseline recorded, ignoring `ignore` pointers."""
    check = "regression.golden"
    evidence: dict[str, Any] = {"call": label, "ignore": list(ignore)}
    if recorded is None:
        return violated(
            check,
            service,
            f"{label}: the baseline has no recorded result for this golden call; record one",
            evidence=evidence,
        )
    lines: list[str] = []
    if bool(recorded.get("is_error")) != bool(actual.get("is_error")):
        lines.append(f"isError: expected {bool(recorded.get('is_error'))}, got {bool(actual.get('is_error'))}")
    if "structured_content" in recorded:
        if "structured_content" not in actual:
            lines.append("structuredContent: expected one, got none (text result)")
        else:
            before = drop_pointers(recorded["structured_content"], ignore)
            after = drop_pointers(actual["structured_content"], ignore)
            lines += json_diff(before, after)
    elif "structured_content" in actual:
        lines.append("structuredContent: none was recorded, got one")
    elif ignore and (texts := volatile.json_texts(recorded.get("text"), actual.get("text"))) is not None:
        lines += json_diff(drop_pointers(texts[0], ignore), drop_pointers(texts[1], ignore))  # JSON in a text result
    elif recorded.get("text") != actual.get("text"):
        diff = difflib.unified_diff(
            str(recorded.get("text", "")).splitlines(),
            str(actual.get("text", "")).splitlines(),
            "recorded",
            "now",
            lineterm="",
            n=1,
        )
        lines += list(diff)[2:]
    if lines:
        evidence["diff"] = lines[:100]
        shown = lines[:MAX_DIFF_LINES] + (
            [f"… {len(lines) - MAX_DIFF_LINES} more"] if len(lines) > MAX_DIFF_LINES else []
        )
        return violated(
            check, service, f"{label}: result differs from the baseline:\n  " + "\n  ".join(shown), evidence=evidence
        )
    return passed(check, service, **evidence)
