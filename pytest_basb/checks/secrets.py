"""Secret-shaped strings: known key prefixes, JWTs, private key blocks, credentials in URLs, high entropy.

Pure functions. A finding's quote never repeats the secret: only its first characters and its length,
so the gate's report does not spread what it found. The gate's own credentials (the resolved
`headers` values) are looked for separately and never quoted at all.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pytest_basb.checks.findings import Finding, capped, visible
from pytest_basb.checks.poisoning import entropy

# (kind, pattern): well-known token formats; each is specific enough to need no entropy test.
_KNOWN: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
        ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b"),
        ("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
        ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"),
        ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
        ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("pypi_token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
        ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"),
        ("url_credentials", r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:(?P<pw>[^\s/@]{3,})@[\w.-]+"),
        (
            "assigned_secret",
            r"(?i)\b(?:api[_-]?key|secret|token|passw(?:or)?d|client[_-]?secret|access[_-]?key)\b[\"']?\s*[:=]\s*"
            r"[\"']?(?P<value>[A-Za-z0-9_\-./+=]{12,})",
        ),
    )
)
_PLACEHOLDERS = re.compile(
    r"(?i)^(?:\*+|x+|\.+|<[^>]*>|\$\{?\w+\}?|password|passwd|secret|changeme|example\w*|your\w*)$"
)
# Random-looking tokens: long runs of key characters, mixed classes, high entropy.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-+/=])[A-Za-z0-9_\-+/=]{24,}(?![A-Za-z0-9_\-+/=])")
_MIN_TOKEN_ENTROPY = 4.2  # bits/char; hex digests top out at 4.0 and are not flagged
_MAX_TOKEN = 63  # longer runs are blobs: poisoning's long_base64 reports them


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


def find(text: str) -> list[Span]:
    """Spans of secret-shaped strings in `text` (known formats first, then high-entropy tokens)."""
    spans: list[Span] = []  # never overlapping, kept sorted by start
    for kind, pattern in _KNOWN:
        for match in pattern.finditer(text):
            value = match.groupdict().get("pw") or match.groupdict().get("value")
            if value is not None and (
                _PLACEHOLDERS.match(value) or (kind == "assigned_secret" and entropy(value) < 3.5)
            ):
                continue
            _add(spans, Span(match.start(), match.end(), kind))
    for match in _TOKEN.finditer(text):
        if _random_looking(match.group()):
            _add(spans, Span(match.start(), match.end(), "high_entropy"))
    return spans


def _add(spans: list[Span], span: Span) -> None:
    """Insert `span` unless it overlaps one already found (a bisection: a text of thousands of
    tokens must not cost thousands of comparisons each)."""
    at = bisect.bisect_left(spans, span.start, key=lambda s: s.start)
    if at > 0 and spans[at - 1].end > span.start:
        return
    if at < len(spans) and spans[at].start < span.end:
        return
    spans.insert(at, span)


def _random_looking(token: str) -> bool:
    if len(token) > _MAX_TOKEN or token.startswith("/") or "//" in token:
        return False
    core = token.strip("=")
    if re.fullmatch(r"[0-9a-fA-F_-]+", core):  # digests, UUIDs, request ids: not credentials
        return False
    if not (re.search(r"[a-z]", core) and re.search(r"[A-Z]", core) and len(re.findall(r"\d", core)) >= 2):
        return False
    return entropy(core) >= _MIN_TOKEN_ENTROPY


def masked(secret: str) -> str:
    """Enough to find the secret again, not enough to use it."""
    head = secret[:6] if len(secret) > 12 else secret[:2]
    return visible(f"{head}…[{len(secret)} chars]")


def scan(text: str, where: str) -> list[Finding]:
    """The secret-shaped strings of one text (at most MAX_PER_KIND of a kind, with a count of the rest)."""
    return capped(_findings(text, where))


def _findings(text: str, where: str) -> Iterator[Finding]:
    for span in find(text):
        value = text[span.start : span.end]
        shown = value.split("\n", 1)[0] if span.kind == "private_key" else masked(value)
        yield Finding(span.kind, "MCP01", where, shown)


def credential_echoes(text: str, where: str, credentials: Iterable[tuple[str, str]]) -> list[Finding]:
    """The gate's own credentials (header name, value) found in `text`: never quoted, only named."""
    findings = []
    for header, value in credentials:
        if value and value in text:
            findings.append(
                Finding("credential_echo", "MCP01", where, f"[the gate's {header} credential]", "echoed back")
            )
    return findings
