"""`security.shadowing`: one service's tools deceiving the model about another service's tools.

The MCP specification asks for unique tool names within one server only, so a name two services
share (`read_file`, `search`) is reported as a warning naming both. The check fails on deception
alone: a description that tells the model to use this tool instead of, or to call, another
service's tool, or a name that differs from another service's tool by look-alike characters.
Parameter names and ordinary words are not tool references.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pytest_basb.checks import poisoning
from pytest_basb.checks.findings import Finding, capped, visible
from pytest_basb.checks.security import from_findings, surface_texts
from pytest_basb.model.results import CheckResult, Severity, passed, violated

CHECK = "security.shadowing"

# A plain-word name ("search", "date") counts as named only when written as a tool reference.
_IDENTIFIER = re.compile(r"[_\-.]|[a-z][A-Z]|\d")
# Words that turn a reference into an instruction about the other tool (use instead, call, before ...).
_DIRECTIVE = re.compile(
    r"\b(?:must|always|never|instead|rather\s+than|in\s+place\s+of|before|after|whenever|when\s+using|"
    r"do\s+not|don'?t|should|override|replace|ignore|redirect|send|forward|bcc|cc|call|invoke|use)\b",
    re.IGNORECASE,
)

# Characters that render like an ASCII letter or digit (Unicode's confusables, the ones tool names meet).
_CONFUSABLE = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l",
        "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t", "ц": "u", "ѵ": "v",
        "ԝ": "w", "х": "x", "у": "y", "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J",
        "К": "K", "М": "M", "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y",
        # Greek
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
        "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
        # ASCII look-alikes: digits for letters, capital I for small l
        "0": "o", "1": "l", "I": "l", "|": "l",
    }
)  # fmt: skip


def skeleton(name: str) -> str:
    """What a name looks like: compatibility forms folded, invisibles dropped, look-alikes mapped."""
    folded = unicodedata.normalize("NFKC", name)
    shown = "".join(c for c in folded if unicodedata.category(c) not in ("Cf", "Mn", "Cc"))
    return shown.translate(_CONFUSABLE)


def scripts(name: str) -> set[str]:
    """The scripts of a name's letters (LATIN, CYRILLIC, GREEK ...), from their Unicode names."""
    found = set()
    for char in name:
        if char.isalpha():
            found.add(unicodedata.name(char, "UNKNOWN").split(" ")[0])
    return found


def reference_pattern(name: str) -> re.Pattern[str]:
    """How a description refers to tool `name`: the identifier itself, or a plain word marked as a tool."""
    word = re.escape(name)
    if _IDENTIFIER.search(name):
        return re.compile(rf"(?<![\w-]){word}(?![\w-])")
    return re.compile(
        rf"`{word}(?:\(\))?`|(?<![\w-]){word}\(|\b(?:tool|function)\s+[`'\"“‘]?{word}\b"
        rf"|[`'\"“‘]?(?<![\w-]){word}[`'\"”’]?\s+(?:tool|function)\b",
        re.IGNORECASE,
    )


def parameter_names(tool: Mapping[str, Any]) -> set[str]:
    schema = tool.get("inputSchema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return {str(k) for k in properties} if isinstance(properties, Mapping) else set()


def _collisions(service: str, own: Mapping[str, Mapping[str, Any]], other: str, their_names: set[str]) -> list[Finding]:
    findings = []
    for name in sorted(set(own) & their_names):
        detail = f"tool of both {service} and {other}: name them apart or waive it"
        findings.append(Finding("name_collision", "MCP03", f"tool {visible(name)}", visible(name), detail, "warn"))
    return findings


def _lookalikes(own: Mapping[str, Mapping[str, Any]], other: str, their_names: set[str]) -> list[Finding]:
    findings = []
    theirs_by_look = {skeleton(n): n for n in their_names}
    for name in sorted(own):
        twin = theirs_by_look.get(skeleton(name))
        # The impostor is the name with the look-alike characters; the plain one it copies is not.
        if twin is not None and twin != name and 0 < _oddness(name) >= _oddness(twin):
            detail = f"looks like {other}'s tool {visible(twin)!r} ({_difference(name, twin)})"
            findings.append(Finding("lookalike_name", "MCP03", f"tool {visible(name)}", visible(name), detail))
    return findings


def _oddness(name: str) -> int:
    """How many characters of `name` are not plain ASCII or stand in for another (0 for `read_file`)."""
    return sum(1 for c in name if not c.isascii() or c.translate(_CONFUSABLE) != c)


def _difference(name: str, twin: str) -> str:
    odd = [c for c in name if c not in twin] or [c for c in twin if c not in name]
    return ", ".join(f"{c!r} U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in dict.fromkeys(odd))[:200]


def _skeletons(names: set[str]) -> set[str]:
    return {skeleton(n) for n in names}


def _mixed_scripts(own: Mapping[str, Mapping[str, Any]], flagged: set[str]) -> list[Finding]:
    findings = []
    for name in sorted(set(own) - flagged):
        found = scripts(name)
        if len(found) > 1:
            detail = f"mixes scripts ({', '.join(sorted(found))}): a look-alike of a name to come?"
            findings.append(Finding("mixed_scripts", "MCP03", f"tool {visible(name)}", visible(name), detail, "warn"))
    return findings


def _references(
    tools: Sequence[Mapping[str, Any]], own: Mapping[str, Mapping[str, Any]], others: Mapping[str, set[str]]
) -> list[Finding]:
    """Sentences of this service's descriptions that name another service's tool (steering: fail)."""
    findings = []
    for tool in tools:
        params = parameter_names(tool)  # `tail` the parameter is not `tail` the other server's tool
        texts = [(w, t) for w, t in surface_texts(tools=[tool]) if not w.endswith(("(keys)", ": name"))]
        for other, their_names in sorted(others.items()):
            for name in sorted(their_names - set(own) - params):
                findings += _sentences_naming(texts, name, other)
    return findings


def _sentences_naming(texts: Sequence[tuple[str, str]], name: str, other: str) -> list[Finding]:
    pattern = reference_pattern(name)
    findings = []
    for where, text in texts:
        findings += capped(_naming(text, where, pattern, name, other))
    return findings


def _naming(text: str, where: str, pattern: re.Pattern[str], name: str, other: str) -> Iterator[Finding]:
    for sentence in poisoning.SENTENCE.finditer(text):
        body = sentence.group()
        if pattern.search(body) is None:
            continue
        steers = _DIRECTIVE.search(body) is not None
        detail = f"names {other}'s tool {name}" + (" and tells the model what to do with it" if steers else "")
        level: Severity = "fail" if steers else "warn"
        yield Finding("cross_reference", "MCP03", where, visible(body.strip()[:400])[:200], detail, level)


def shadowing_check(
    service: str,
    tools: Sequence[Mapping[str, Any]],
    others: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    unreachable: Sequence[str] = (),
) -> CheckResult:
    """`others` maps each other service of the environment to its listed tools."""
    own = {str(t.get("name")): t for t in tools}
    names = {other: {str(t.get("name")) for t in their_tools} for other, their_tools in others.items()}
    findings: list[Finding] = []
    for other, their_names in sorted(names.items()):
        findings += _collisions(service, own, other, their_names)
        findings += _lookalikes(own, other, their_names)
    findings += _mixed_scripts(own, {n for n in own if any(skeleton(n) in _skeletons(t) for t in names.values())})
    findings += _references(tools, own, names)
    evidence_extra = {"compared_with": sorted(others), "unreachable": list(unreachable)}
    if not findings:
        return passed(CHECK, service, **evidence_extra)
    result = from_findings(CHECK, service, findings, scanned=len(tools), what="shadowing finding(s)")
    severity: Severity = "fail" if any(f.level == "fail" for f in findings) else "warn"
    return violated(
        CHECK, service, result.message or "", severity=severity, evidence={**result.evidence, **evidence_extra}
    )
