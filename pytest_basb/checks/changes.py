"""What drift is made of: a classified change, a text change, and how values are quoted in messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pytest_basb.model.text import shorten

Severity = Literal["breaking", "additive", "unclassified"]


Direction = Literal["input", "output"]


def canonical_json(value: Any) -> str:
    """The one serialisation hashes are taken over: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Change:
    """One structural difference: which entry, what changed (old → new), and what it costs."""

    severity: Severity
    entry: str  # "tool search", "resource note://x", "prompt summarize", "server"
    detail: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.detail}"


@dataclass(frozen=True)
class TextChange:
    """A text people or models read changed (description, title, annotations, instructions)."""

    entry: str
    field: str
    old: str | None
    new: str | None
    schema_changed: bool = False  # the entry's structure changed too (regression.surface reports it)

    def __str__(self) -> str:
        return f"{self.entry}: {self.field} changed: {quoted(self.old)} → {quoted(self.new)}"


def short_value(value: Any, limit: int = 80) -> str:
    """A schema keyword's value for a message (None: the keyword is absent)."""
    return "absent" if value is None else value_text(value, limit)


def value_text(value: Any, limit: int = 80) -> str:
    """A JSON value for a message, cut at `limit` characters."""
    return shorten(canonical_json(value), limit)


def quoted(text: Any, limit: int = 300) -> str:
    if text is None:
        return "(none)"
    return json.dumps(shorten(str(text), limit), ensure_ascii=False)
