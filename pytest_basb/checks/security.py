"""Security content checks: tool poisoning and secrets (README, "Security suite"; shadowing: `shadowing`).

Pure functions from listings (plain dicts, camelCase keys as the client returns them) to
`CheckResult`. Every finding carries its OWASP MCP Top 10 id; the evidence lists them all under
`owasp`. The HTTP checks live in `transport_security`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pytest_basb.checks import poisoning
from pytest_basb.checks import secrets as secret_scan
from pytest_basb.checks.findings import OWASP_MCP, Finding, summary, total, visible
from pytest_basb.model.results import CheckResult, passed, violated

Text = tuple[str, str]  # (where, text)


def owasp_evidence(ids: Iterable[str]) -> dict[str, Any]:
    unique = sorted(set(ids))
    return {"owasp": unique, "owasp_names": {i: OWASP_MCP[i] for i in unique}}


def from_findings(check_id: str, service: str, findings: Sequence[Finding], *, scanned: int, what: str) -> CheckResult:
    if not findings:
        return passed(check_id, service, texts_scanned=scanned)
    findings = sorted(findings, key=lambda f: f.level != "fail")  # what failed the check comes first
    evidence = {
        **owasp_evidence(f.owasp for f in findings),
        "findings": [f.to_dict() for f in findings],
        "texts_scanned": scanned,
    }
    return violated(check_id, service, f"{total(findings)} {what}: {summary(list(findings))}", evidence=evidence)


# -- the text a model reads ---------------------------------------------------------------------


def surface_texts(
    *,
    tools: Sequence[Mapping[str, Any]] = (),
    resources: Sequence[Mapping[str, Any]] = (),
    prompts: Sequence[Mapping[str, Any]] = (),
    instructions: str | None = None,
) -> list[Text]:
    """Every name, title, description, schema string and prompt text of a service, with where it is."""
    texts: list[Text] = []
    if instructions:
        texts.append(("instructions", instructions))
    for kind, entries in (("tool", tools), ("resource", resources), ("prompt", prompts)):
        for entry in entries:
            label = f"{kind} {visible(str(entry.get('name', entry.get('uri', '?'))))}"
            for key, value in sorted(entry.items()):
                texts.extend((f"{label}: {where}", text) for where, text in _strings(value, key))
    return texts


# JSON Schema's own words: no rule matches a text that is exactly one of them, and a wide schema holds
# thousands (`type: string`, the keys `type`, `description`), each costing a labelled text.
_SCHEMA_WORDS = frozenset(
    {
        "type", "description", "title", "properties", "required", "items", "enum", "const", "default", "format",
        "pattern", "examples", "anyOf", "oneOf", "allOf", "not", "$ref", "$defs", "$schema", "additionalProperties",
        "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "string", "number", "integer", "boolean", "object", "array", "null",
    }
)  # fmt: skip


def _strings(value: Any, path: str) -> list[Text]:
    """All strings inside JSON-like data (keys too: a property name can hide text as well)."""
    if isinstance(value, str):
        return [] if value in _SCHEMA_WORDS else [(path, value)]
    found: list[Text] = []
    if isinstance(value, Mapping):
        # One text for the keys of a mapping: a labelled text per key cost ~10x the schema's size.
        keys = [str(key) for key in value if str(key) not in _SCHEMA_WORDS]
        if keys:
            found.append((f"{path} (keys)", "\n".join(keys)))
        for key, inner in value.items():
            found.extend(_strings(inner, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found.extend(_strings(inner, f"{path}[{i}]"))
    return found


# -- security.poisoning -------------------------------------------------------------------------


def poisoning_findings(texts: Sequence[Text]) -> list[Finding]:
    findings: list[Finding] = []
    for where, text in texts:
        owned = [(s.start, s.end) for s in secret_scan.find(text)]
        findings.extend(poisoning.scan(text, where, owned=owned))
    return findings


def poisoning_check(service: str, texts: Sequence[Text]) -> CheckResult:
    findings = poisoning_findings(texts)
    return from_findings("security.poisoning", service, findings, scanned=len(texts), what="poisoning finding(s)")


# -- security.secrets ---------------------------------------------------------------------------


def secrets_check(
    service: str,
    texts: Sequence[Text],
    error_texts: Sequence[Text],
    credentials: Sequence[tuple[str, str]],
) -> CheckResult:
    """No secret-shaped string in metadata or in the answers to malformed calls; no echo of ours."""
    findings: list[Finding] = []
    for where, text in [*texts, *error_texts]:
        findings.extend(secret_scan.credential_echoes(text, where, credentials))
        findings.extend(secret_scan.scan(_without(text, credentials), where))
    result = from_findings(
        "security.secrets",
        service,
        findings,
        scanned=len(texts) + len(error_texts),
        what="secret-shaped string(s)",
    )
    if result.outcome == "pass":
        return passed("security.secrets", service, texts_scanned=len(texts), error_answers_scanned=len(error_texts))
    return result


def _without(text: str, credentials: Sequence[tuple[str, str]]) -> str:
    """Our own credentials are reported as echoes, not a second time as secret-shaped strings."""
    for _, value in credentials:
        if value:
            text = text.replace(value, "***")
    return text


def credential_values(headers: Mapping[str, str], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(header, value) pairs of the gate's credentials: the value, and a bearer token on its own."""
    known = set(secrets)
    found: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not (is_credential_header(name) or any(s in value for s in known if s)):
            continue
        found.append((name, value))
        scheme, _, token = value.partition(" ")
        if token and scheme.lower() in ("bearer", "basic", "token"):
            found.append((name, token.strip()))
    return found


# A tool no server offers, called so its error answer can be scanned for leaked secrets (apart from
# smoke.UNKNOWN_TOOL, so the two checks never share an answer sent ahead).
ERROR_PROBE_TOOL = "basb-gate-security-no-such-tool"

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "x-access-token", "cookie"}
)


def is_credential_header(name: str) -> bool:
    return name.lower() in CREDENTIAL_HEADERS


def malformed_arguments(tool: Mapping[str, Any]) -> dict[str, Any] | None:
    """Arguments a validating server must refuse (every typed property of the wrong type), or None."""
    schema = tool.get("inputSchema") or {}
    properties = schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    for name, prop in sorted(properties.items()):
        types = _types(prop)
        if not types:
            continue
        wrong = next((value for value, kind in _WRONG_VALUES if kind not in types), None)
        if wrong is not None:
            arguments[name] = wrong
    if arguments:
        return arguments
    return {} if schema.get("required") else None


# A value of each JSON type that no lax validator turns into another type (booleans become ints).
_WRONG_VALUES: tuple[tuple[Any, str], ...] = (
    ({"basb_gate_malformed": True}, "object"),
    (["basb-gate-malformed"], "array"),
    (0.5, "number"),
)


def _types(prop: Any) -> set[str]:
    if not isinstance(prop, Mapping):
        return set()
    declared = prop.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    variants = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(variants, list):
        found: set[str] = set()
        for variant in variants:
            inner = _types(variant)
            if not inner:
                return set()  # an untyped variant accepts anything
            found |= inner
        return found
    return set()
