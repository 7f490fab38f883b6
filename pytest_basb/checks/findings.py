"""A security finding: what was found, where, the quoted text (invisibles made visible), its OWASP id.

Shared by the text heuristics (`poisoning`, `secrets`) and the check builders (`security`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

# OWASP MCP Top 10 (2025): the ids findings carry in their evidence and in Allure tags.
OWASP_MCP: dict[str, str] = {
    "MCP01": "Token Mismanagement & Secret Exposure",
    "MCP02": "Privilege Escalation via Scope Creep",
    "MCP03": "Tool Poisoning",
    "MCP04": "Software Supply Chain Attacks & Dependency Tampering",
    "MCP05": "Command Injection & Execution",
    "MCP06": "Intent Flow Subversion (prompt injection via contextual payloads)",
    "MCP07": "Insufficient Authentication & Authorization",
    "MCP08": "Lack of Audit and Telemetry",
    "MCP09": "Shadow MCP Servers",
    "MCP10": "Context Injection & Over-Sharing",
}

# The OWASP ids each security check reports under (findings may add more, e.g. MCP06, MCP10).
OWASP_BY_CHECK: dict[str, tuple[str, ...]] = {
    "security.auth_required": ("MCP07",),
    "security.auth_metadata": ("MCP07",),
    "security.token_in_query": ("MCP01",),
    "security.origin": ("MCP07",),
    "security.protocol_header": ("MCP07",),
    "security.tls": ("MCP01",),
    "security.session_ids": ("MCP07",),
    "security.cors": ("MCP07",),
    "security.poisoning": ("MCP03", "MCP06", "MCP10"),
    "security.shadowing": ("MCP03",),
    "security.secrets": ("MCP01",),
}

# Findings of one kind kept per text. A text with thousands of them (a description full of hidden
# characters) is reported with the first ones and a count: the report stays readable and the check's
# memory a small multiple of what it scans, not ~100 bytes of quote per offending character.
MAX_PER_KIND = 20
_QUOTE_WINDOW = 30  # characters of context on each side of the offending text
_KEEP = frozenset(" ")


@dataclass(frozen=True, slots=True)
class Finding:
    """One offending span of one text. `quote` is safe to print: invisibles are spelled `[U+200B]`."""

    kind: str  # e.g. "hidden_unicode", "injected_instruction", "aws_access_key"
    owasp: str  # "MCP03"
    where: str  # e.g. "tool search: inputSchema.properties.query.description"
    quote: str
    detail: str = ""
    level: str = "fail"  # "warn": reported, but alone it does not fail the check
    more: int = 0  # findings like this one in the same text, not kept (MAX_PER_KIND)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "owasp": self.owasp, "where": self.where, "quote": self.quote}
        if self.detail:
            data["detail"] = self.detail
        if self.level != "fail":
            data["level"] = self.level
        if self.more:
            data["more"] = self.more
        return data

    def line(self) -> str:
        notes = [note for note in (self.detail, f"and {self.more} more like it" if self.more else "") if note]
        extra = f" ({'; '.join(notes)})" if notes else ""
        tag = self.owasp if self.level == "fail" else f"{self.owasp}, {self.level}"
        return f"{self.where}: {self.kind}{extra} [{tag}]: {self.quote}"


def visible(text: str) -> str:
    """Spell every invisible, control or format character as `[U+XXXX]`, so a quote shows what hides."""
    out = []
    for char in text:
        if char not in _KEEP and unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs", "Mn"):
            if unicodedata.category(char) == "Mn" and not _is_invisible_mark(char):
                out.append(char)  # an ordinary combining accent is visible
                continue
            out.append(f"[U+{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def _is_invisible_mark(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def quote(text: str, start: int, end: int, *, window: int = _QUOTE_WINDOW, limit: int = 160) -> str:
    """The offending span with some context, made visible and bounded."""
    lo, hi = max(0, start - window), min(len(text), end + window)
    span = text[start:end]
    if len(span) > limit:
        span = span[: limit // 2] + "…" + span[-limit // 4 :]
    prefix = ("…" if lo > 0 else "") + text[lo:start]
    suffix = text[end:hi] + ("…" if hi < len(text) else "")
    # Line breaks read as ⏎ (a quote stays on its message line); visible() would spell them [U+000A].
    return visible(re.sub(r"\r?\n", "⏎", prefix + span + suffix))


def summary(findings: list[Finding], *, limit: int = 5) -> str:
    """One message line per finding (the first `limit`, fail-level first), plus a count of the rest."""
    ordered = sorted(findings, key=lambda f: f.level != "fail")
    lines = [f.line() for f in ordered[:limit]]
    if len(findings) > limit:
        lines.append(f"… and {total(ordered[limit:])} more (gate.json)")
    return "; ".join(lines)


def capped(found: Iterable[Finding], limit: int = MAX_PER_KIND) -> list[Finding]:
    """The first `limit` findings of each kind (`found` is consumed lazily); the last one kept of a
    kind with more counts the rest (`more`)."""
    kept: list[Finding] = []
    counts: Counter[str] = Counter()
    for finding in found:
        counts[finding.kind] += 1
        if counts[finding.kind] <= limit:
            kept.append(finding)
    for kind, count in counts.items():
        if count > limit:
            last = max(i for i, f in enumerate(kept) if f.kind == kind)
            kept[last] = replace(kept[last], more=count - limit)
    return kept


def total(findings: Iterable[Finding]) -> int:
    """How many findings there were, those left out by `capped` included."""
    return sum(1 + f.more for f in findings)
