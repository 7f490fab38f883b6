"""Tool-poisoning heuristics over the text a model reads: names, descriptions, schemas, prompts, instructions.

Pure functions, no LLM: each rule is a pattern a human reviewer would also flag, tuned so ordinary
prose (in any language), long but legitimate schemas and a harmless mention of a secret file do not
trip it. Spans that `secrets` owns (a key, a JWT) are left to `security.secrets`, so each fault is
reported by exactly one check.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator

from pytest_basb.checks.findings import Finding, capped, quote

# -- hidden Unicode -----------------------------------------------------------------------------
_ZERO_WIDTH = {0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E}
_JOINERS = {0x200C, 0x200D}  # ZWNJ/ZWJ: legitimate inside Persian, Indic scripts and emoji sequences
_BIDI_MARKS = {0x200E, 0x200F, 0x061C}  # LRM/RLM/ALM: legitimate in right-to-left text
_BIDI_CONTROLS = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))  # embeddings, overrides, isolates
_TAGS = range(0xE0000, 0xE0080)  # invisible "tag" copies of ASCII: a whole hidden message
_VARIATION_SUPPLEMENT = range(0xE0100, 0xE01F0)  # can smuggle bytes after any character


def _hidden_kind(text: str, i: int) -> str | None:
    code = ord(text[i])
    if code in _ZERO_WIDTH:
        return None if (code == 0xFEFF and i == 0) else "zero-width character"
    if code in _BIDI_CONTROLS:
        return "bidi control"
    if code in _TAGS:
        return "tag character"
    if code in _VARIATION_SUPPLEMENT:
        return "variation selector"
    if code in _JOINERS:
        return None if _joins_script(text, i) else "zero-width joiner"
    if code in _BIDI_MARKS:
        return None if _has_rtl(text) else "bidi mark"
    return None


def _joins_script(text: str, i: int) -> bool:
    """A joiner between two non-Latin letters (Persian, Hindi) or next to an emoji is ordinary text."""
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""

    def script_letter(c: str) -> bool:
        return bool(c) and ord(c) > 0x24F and (c.isalpha() or unicodedata.category(c) in ("Mn", "Mc"))

    def pictograph(c: str) -> bool:
        return bool(c) and (unicodedata.category(c) == "So" or 0x1F000 <= ord(c) <= 0x1FAFF or ord(c) == 0xFE0F)

    return (script_letter(before) and script_letter(after)) or pictograph(before) or pictograph(after)


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def hidden_unicode(text: str, where: str) -> Iterator[Finding]:
    i = 0
    while i < len(text):
        kind = _hidden_kind(text, i)
        if kind is None:
            i += 1
            continue
        j = i + 1
        while j < len(text) and _hidden_kind(text, j) is not None:
            j += 1
        detail = f"{kind}, {j - i} hidden character(s)"
        if any(ord(c) in _TAGS for c in text[i:j]):
            decoded = "".join(chr(ord(c) - 0xE0000) for c in text[i:j] if ord(c) in _TAGS and ord(c) >= 0xE0020)
            detail += f", decoding to {decoded[:80]!r}"
        yield Finding("hidden_unicode", "MCP03", where, quote(text, i, j), detail)
        i = j


# -- terminal escapes and control characters ----------------------------------------------------
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+"
)


def control_chars(text: str, where: str) -> Iterator[Finding]:
    for match in _CONTROL.finditer(text):
        kind = "ANSI escape sequence" if match.group().startswith("\x1b") else "C0/C1 control character"
        yield Finding("control_chars", "MCP03", where, quote(text, match.start(), match.end()), kind)


# -- instruction blocks and injected instructions -----------------------------------------------
_BLOCK = re.compile(
    r"<\s*/?\s*(important|system|sys|system[-_ ]?prompt|instructions?|secret|hidden|admin)\s*>"
    r"|<\|im_start\|>|<<\s*SYS\s*>>|\[/?INST\]",
    re.IGNORECASE,
)

_INJECTION = re.compile(
    "|".join(
        [
            r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
            r"(?:previous|prior|above|earlier|preceding|other|system|original)\s+"
            r"(?:instructions?|prompts?|rules|messages|directions|guidelines|context)",
            r"\bforget\s+(?:everything|all)\s+(?:you|that|above|before)",
            r"\byou\s+are\s+now\s+(?:a|an|the)\s+(?:\w+\s+)?(?:assistant|ai|agent|model|system|admin|"
            r"administrator|root|hacker|jailbroken|unrestricted)\b",
            r"\b(?:do\s+not|don'?t|never)\s+(?:tell|inform|mention|reveal|show|notify)\s+(?:this\s+|it\s+)?"
            r"(?:to\s+)?(?:the\s+)?user\b",
            r"\bwithout\s+(?:telling|informing|notifying|alerting)\s+(?:the\s+)?user\b",
            r"\b(?:the\s+)?user\s+(?:must|should)\s+not\s+(?:know|see|be\s+told)\b",
            r"\bnew\s+(?:system\s+)?instructions\s*:",
            r"\bignoriere?\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen)\s+(?:anweisungen|instruktionen)",
            r"\bignore[rz]?\s+(?:toutes\s+)?les\s+instructions\s+(?:précédentes|ci-dessus)",
            r"\bignora\s+(?:todas\s+)?las\s+instrucciones\s+(?:anteriores|previas)",
        ]
    ),
    re.IGNORECASE,
)


def instruction_blocks(text: str, where: str) -> Iterator[Finding]:
    for m in _BLOCK.finditer(text):
        yield Finding("instruction_block", "MCP03", where, quote(text, m.start(), m.end()), m.group().strip())


def injected_instructions(text: str, where: str) -> Iterator[Finding]:
    for m in _INJECTION.finditer(text):
        yield Finding("injected_instruction", "MCP06", where, quote(text, m.start(), m.end()))


# -- secret-file paths, only when the text asks for them ----------------------------------------
_SECRET_FILE = re.compile(
    r"(?:~|\$HOME|%USERPROFILE%)?/?\.ssh(?:/[\w.-]+)?|\bid_(?:rsa|dsa|ecdsa|ed25519)\b(?:\.pub)?"
    r"|/etc/(?:passwd|shadow|sudoers|ssh/\S+)|(?<![\w/.-])\.env(?:\.[a-z]+)?\b(?!\w)"
    r"|\.aws/credentials|\.aws/config|\.netrc\b|\.pgpass\b|\.git-credentials\b|\.npmrc\b|\.pypirc\b"
    r"|\.kube/config|\.docker/config\.json|\.gnupg\b|\.config/gcloud|claude_desktop_config\.json"
    r"|\.cursor/mcp\.json|\bcredentials\.json\b|\bservice[-_]account\.json\b|\.vault-token\b",
    re.IGNORECASE,
)
# What turns a mention into an exfiltration instruction, and what keeps it harmless.
_ASKS = re.compile(
    r"\b(?:read|cat|open|load|include|send|pass|attach|upload|copy|paste|provide|forward|append|print|dump|"
    r"post|leak|share|submit|contents?\s+of|lis|lee|lire|envoie|sende|lies)\b",
    re.IGNORECASE,
)
_REFUSES = re.compile(
    r"\b(?:never|not|don'?t|doesn'?t|won'?t|cannot|can'?t|refused?|refuses|rejected|rejects|denied|denies|"
    r"blocked|forbidden|excluded|outside|prevent|prevents|nicht|nie|jamais|ne|nunca)\b",
    re.IGNORECASE,
)
# A sentence ends at . ! ? ; followed by a space or the end: ".env" or "id_rsa.pub" do not end one.
# Possessive (*+, ++): the two branches never match the same text, so nothing is given back, and the
# engine keeps no backtracking state per character (~140 bytes each: 32 MB for a 230 KB sentence).
SENTENCE = re.compile(r"(?:[^.!?;\n]++|[.!?;](?=\S))*+(?:[.!?;\n]|$)")


def secret_file_requests(text: str, where: str) -> Iterator[Finding]:
    """A secret file named in a sentence that asks to read or send it (and does not refuse it)."""
    for sentence in SENTENCE.finditer(text):
        body = sentence.group()
        paths = list(_SECRET_FILE.finditer(body))
        if not paths or not _ASKS.search(body) or _REFUSES.search(body):
            continue
        offset = sentence.start()
        for match in paths:
            yield Finding(
                "secret_file",
                "MCP03",
                where,
                quote(text, offset + match.start(), offset + match.end()),
                f"asks for {match.group()}",
            )


# -- long base64 and external images ------------------------------------------------------------
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{64,}={0,2}")
_MIN_BASE64_ENTROPY = 4.5  # bits per character; English identifiers stay near 4, random base64 near 5.5+


def entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def long_base64(text: str, where: str, *, owned: Iterable[tuple[int, int]] = ()) -> Iterator[Finding]:
    spans = list(owned)
    for match in _BASE64.finditer(text):
        token = match.group()
        if any(a < match.end() and match.start() < b for a, b in spans):
            continue
        classes = (re.search(r"[a-z]", token), re.search(r"[A-Z]", token), re.search(r"\d", token))
        if not all(classes) or entropy(token) < _MIN_BASE64_ENTROPY:
            continue
        yield Finding(
            "long_base64", "MCP03", where, quote(text, match.start(), match.end(), limit=48), f"{len(token)} chars"
        )


_IMAGE = re.compile(
    r"!\[[^\]]*\]\(\s*<?(?P<md>(?:https?:)?//[^)\s>]+)|<img\b[^>]*\bsrc\s*=\s*[\"']?(?P<html>(?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


def external_images(text: str, where: str) -> Iterator[Finding]:
    """An image a client renders by fetching a URL: data in its query string leaves the context."""
    for match in _IMAGE.finditer(text):
        url = match.group("md") or match.group("html")
        yield Finding("external_image", "MCP10", where, quote(text, match.start(), match.end()), f"fetches {url[:80]}")


def scan(text: str, where: str, *, owned: Iterable[tuple[int, int]] = ()) -> list[Finding]:
    """Every poisoning finding in one text (at most MAX_PER_KIND of a kind, with a count of the rest);
    `owned` spans (secrets) are not reported as base64."""
    return [
        *capped(hidden_unicode(text, where)),
        *capped(control_chars(text, where)),
        *capped(instruction_blocks(text, where)),
        *capped(injected_instructions(text, where)),
        *capped(secret_file_requests(text, where)),
        *capped(long_base64(text, where, owned=owned)),
        *capped(external_images(text, where)),
    ]
