"""Volatile parts of a golden result: what `regression.golden` must ignore to pass on the next run.

Recording calls a golden tool twice. The JSON pointers (RFC 6901) whose values differ between the
two answers, and those whose values look like a date, a timestamp or a UUID, are written into the
baseline's `ignore:` for that call, where a reviewer sees them.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO 8601
    r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?"  # a time of day
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}",  # RFC 2822 / HTTP date
)
_TIME_KEY = re.compile(r"(?:time|date|_at$|At$|^ts$|timestamp|created|updated|modified|expires)", re.IGNORECASE)
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01 in seconds


def json_text(text: Any) -> Any:
    """A text result that is a JSON object or array (older servers put their data there), else None."""
    if not isinstance(text, str) or not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_texts(recorded: Any, actual: Any) -> tuple[Any, Any] | None:
    """Both texts parsed as JSON, or None when either is not JSON."""
    before, after = json_text(recorded), json_text(actual)
    return None if before is None or after is None else (before, after)


def looks_volatile(value: Any, key: str = "") -> str | None:
    """Why a single value will change from call to call (a UUID, a date, a timestamp), or None."""
    if isinstance(value, str):
        text = value.strip()
        if _UUID.fullmatch(text):
            return "UUID"
        if _DATE.fullmatch(text):
            return "date or time"
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and _TIME_KEY.search(key):
        for scale in (1, 1000, 1_000_000):  # seconds, milliseconds, microseconds
            if _EPOCH_S[0] * scale <= value <= _EPOCH_S[1] * scale:
                return "timestamp"
    return None


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def volatile_pointers(first: Any, second: Any) -> dict[str, str]:
    """Pointer -> why, for every part of `first` that differs in `second` or looks volatile."""
    found: dict[str, str] = {}
    _walk(first, second, "", "", found)
    return found


def _walk(first: Any, second: Any, pointer: str, key: str, found: dict[str, str]) -> None:
    if isinstance(first, dict) and isinstance(second, dict):
        for name in sorted(set(first) | set(second)):
            inner = f"{pointer}/{escape(str(name))}"
            if name in first and name in second:
                _walk(first[name], second[name], inner, str(name), found)
            elif name in first:
                found[inner] = "absent from the second call"
        return
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        for i, (a, b) in enumerate(zip(first, second, strict=True)):
            _walk(a, b, f"{pointer}/{i}", key, found)
        return
    if first != second:
        found[pointer] = "differs between two calls"
        return
    why = looks_volatile(first, key)
    if why is not None:
        found[pointer] = f"looks like a {why}"
