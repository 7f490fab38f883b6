"""Regression drift of a service's surface: canonical surfaces, their hashes, and the classifier that
calls each change breaking, additive or unclassified (`compare_surfaces`), as `regression.surface`,
`regression.descriptions` and `basb-baseline diff` all judge it. Schemas are compared in
`schema_drift.py`, golden results in `golden.py`, latency in `latency.py`. Pure functions: no
pytest, no MCP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_basb.checks.changes import Change, Severity, TextChange, canonical_json, quoted
from pytest_basb.checks.schema_drift import compare_schema
from pytest_basb.model.results import CheckResult, passed, violated

# What the sha256 of an entry covers (README, "Regression baselines"; resources also keep their title and description).
SURFACE_FIELDS: dict[str, tuple[str, ...]] = {
    "tools": ("name", "title", "description", "inputSchema", "outputSchema", "annotations"),
    "resources": ("uri", "name", "title", "description", "mimeType"),
    "prompts": ("name", "title", "description", "arguments"),
}
KEY_FIELD = {"tools": "name", "resources": "uri", "prompts": "name"}
KIND_LABEL = {"tools": "tool", "resources": "resource", "prompts": "prompt"}
# Entry fields that are text for people (and models), not structure: a change is a possible rug pull.
TEXT_FIELDS = ("title", "description", "annotations")


# --- canonical surface -------------------------------------------------------------------------


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def surface_entry(kind: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a listed tool/resource/prompt that the baseline keeps (absent ones omitted)."""
    return {name: item[name] for name in SURFACE_FIELDS[kind] if item.get(name) is not None}


def surface(
    *,
    tools: Sequence[Mapping[str, Any]] = (),
    resources: Sequence[Mapping[str, Any]] = (),
    prompts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """kind -> key (tool/prompt name, resource uri) -> {"entry", "sha256"}, keys sorted."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, items in (("tools", tools), ("resources", resources), ("prompts", prompts)):
        entries = {}
        for item in items:
            entry = surface_entry(kind, item)
            entries[str(item.get(KEY_FIELD[kind]))] = {"entry": entry, "sha256": sha256_of(entry)}
        out[kind] = dict(sorted(entries.items()))
    return out


# --- the classifier ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    changes: tuple[Change, ...] = ()
    texts: tuple[TextChange, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)

    def of(self, severity: Severity) -> list[Change]:
        return [c for c in self.changes if c.severity == severity]

    @property
    def breaking(self) -> bool:
        return any(c.severity == "breaking" for c in self.changes)

    @property
    def rug_pulls(self) -> list[TextChange]:
        """Text changes of entries whose structure did not change (regression.descriptions)."""
        return [t for t in self.texts if not t.schema_changed]

    def counts(self) -> dict[str, int]:
        return {
            "breaking": len(self.of("breaking")),
            "additive": len(self.of("additive")),
            "unclassified": len(self.of("unclassified")),
            "text": len(self.texts),
        }

    def lines(self) -> list[str]:
        """Every change as one readable line, breaking first (the order `basb-baseline diff` prints)."""
        order: tuple[tuple[Severity, str], ...] = (
            ("breaking", "BREAKING"),
            ("unclassified", "CHANGED "),
            ("additive", "ADDITIVE"),
        )
        out = [f"{tag}  {c}" for severity, tag in order for c in self.of(severity)]
        out += [f"TEXT      {t}" for t in self.texts]
        return out


def compare_surfaces(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    old_server: Mapping[str, Any] | None = None,
    new_server: Mapping[str, Any] | None = None,
) -> Drift:
    """Classify every difference between two surfaces (as made by `surface`) and two server records."""
    changes: list[Change] = []
    texts: list[TextChange] = []
    for kind in ("tools", "resources", "prompts"):
        before: Mapping[str, Any] = old.get(kind) or {}
        after: Mapping[str, Any] = new.get(kind) or {}
        for key in sorted(set(before) | set(after)):
            label = f"{KIND_LABEL[kind]} {key}"
            if key not in after:
                changes.append(Change("breaking", label, f"removed (was: {_summary(kind, before[key]['entry'])})"))
            elif key not in before:
                changes.append(Change("additive", label, f"new {KIND_LABEL[kind]}"))
            elif before[key].get("sha256") != after[key].get("sha256"):
                found, said = _compare_entry(kind, label, before[key]["entry"], after[key]["entry"])
                if not found and not said:
                    found = [Change("unclassified", label, "changed (unclassified): the entry's hash differs")]
                changes += found
                texts += [TextChange(t.entry, t.field, t.old, t.new, schema_changed=bool(found)) for t in said]
    info: dict[str, Any] = {}
    if old_server is not None and new_server is not None:
        changes += _compare_server(old_server, new_server, texts, info)
    return Drift(changes=tuple(changes), texts=tuple(texts), info=info)


def _compare_server(
    old: Mapping[str, Any], new: Mapping[str, Any], texts: list[TextChange], info: dict[str, Any]
) -> list[Change]:
    changes = []
    if old.get("name") != new.get("name"):
        changes.append(
            Change("unclassified", "server", f"name changed: {quoted(old.get('name'))} → {quoted(new.get('name'))}")
        )
    for key in ("version", "protocol_version", "transport"):
        if old.get(key) != new.get(key):
            info[key] = {"old": old.get(key), "new": new.get(key)}
    if (old.get("instructions") or None) != (new.get("instructions") or None):
        texts.append(TextChange("server", "instructions", old.get("instructions"), new.get("instructions")))
    return changes


def _compare_entry(
    kind: str, label: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[Change], list[TextChange]]:
    changes: list[Change] = []
    texts: list[TextChange] = []
    for name in TEXT_FIELDS:
        if old.get(name) != new.get(name):
            before, after = old.get(name), new.get(name)
            texts.append(
                TextChange(
                    label,
                    name,
                    before if before is None or isinstance(before, str) else canonical_json(before),
                    after if after is None or isinstance(after, str) else canonical_json(after),
                )
            )
    if kind == "tools":
        changes += compare_schema(label, "input", old.get("inputSchema"), new.get("inputSchema"), texts)
        if old.get("outputSchema") is not None and new.get("outputSchema") is None:
            changes.append(Change("breaking", label, "outputSchema removed: structured results are no longer promised"))
        elif old.get("outputSchema") is None and new.get("outputSchema") is not None:
            changes.append(Change("additive", label, "outputSchema added: structured results are now promised"))
        else:
            changes += compare_schema(label, "output", old.get("outputSchema"), new.get("outputSchema"), texts)
    elif kind == "resources":
        if old.get("mimeType") != new.get("mimeType"):
            was, now = quoted(old.get("mimeType")), quoted(new.get("mimeType"))
            changes.append(Change("breaking", label, f"mimeType changed: {was} → {now}"))
        if old.get("name") != new.get("name"):
            was, now = quoted(old.get("name")), quoted(new.get("name"))
            changes.append(Change("unclassified", label, f"name changed: {was} → {now}"))
    else:
        changes += _compare_prompt_arguments(label, old.get("arguments") or [], new.get("arguments") or [], texts)
    return changes, texts


def _compare_prompt_arguments(
    label: str, old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], texts: list[TextChange]
) -> list[Change]:
    before = {str(a.get("name")): a for a in old}
    after = {str(a.get("name")): a for a in new}
    changes = []
    for name in sorted(set(before) | set(after)):
        where = f"argument `{name}`"
        if name not in after:
            changes.append(Change("breaking", label, f"{where} removed"))
        elif name not in before:
            required = bool(after[name].get("required"))
            severity: Severity = "breaking" if required else "additive"
            changes.append(Change(severity, label, f"{where}: new {'required' if required else 'optional'} argument"))
        else:
            was, now = bool(before[name].get("required")), bool(after[name].get("required"))
            if now and not was:
                changes.append(Change("breaking", label, f"{where}: optional → required"))
            elif was and not now:
                changes.append(Change("additive", label, f"{where}: required → optional"))
            for text in ("title", "description"):
                if before[name].get(text) != after[name].get(text):
                    texts.append(TextChange(label, f"{where} {text}", before[name].get(text), after[name].get(text)))
    return changes


def _summary(kind: str, entry: Mapping[str, Any]) -> str:
    if kind == "tools":
        required = (entry.get("inputSchema") or {}).get("required") or []
        return f"{entry.get('name')}({', '.join(map(str, required))})"
    return str(entry.get(KEY_FIELD[kind]))


# --- check results of the surface -----------------------------------------------------------------


def surface_result(service: str, drift: Drift) -> CheckResult:
    """regression.surface: breaking → fail; additive or unclassified → warn; nothing → pass."""
    check = "regression.surface"
    evidence: dict[str, Any] = {
        "counts": drift.counts(),
        "changes": [{"severity": c.severity, "entry": c.entry, "detail": c.detail} for c in drift.changes][:100],
        **({"server": drift.info} if drift.info else {}),
    }
    also = [f"{t.entry} {t.field}" for t in drift.texts if t.schema_changed]
    if also:
        evidence["texts_changed_with_schema"] = also[:50]
    if breaking := drift.of("breaking"):
        rest = drift.of("unclassified") + drift.of("additive")
        text = f"{len(breaking)} breaking change(s): " + "; ".join(map(str, breaking))
        if rest:
            text += f" (also {len(rest)} other: " + "; ".join(map(str, rest)) + ")"
        return violated(check, service, text, evidence=evidence)
    if others := drift.of("unclassified") + drift.of("additive"):
        parts = [f"{len(drift.of('additive'))} additive", f"{len(drift.of('unclassified'))} unclassified"]
        return violated(
            check,
            service,
            f"{', '.join(parts)} change(s): " + "; ".join(map(str, others)),
            severity="warn",
            evidence=evidence,
        )
    return passed(check, service, **evidence)


def descriptions_result(service: str, drift: Drift) -> CheckResult:
    """regression.descriptions: text changed while the structure did not (a possible rug pull) → warn."""
    check = "regression.descriptions"
    pulls = drift.rug_pulls
    evidence = {"changes": [{"entry": t.entry, "field": t.field, "old": t.old, "new": t.new} for t in pulls][:50]}
    if pulls:
        text = f"{len(pulls)} text change(s) with the schema unchanged (review for a rug pull): " + "; ".join(
            map(str, pulls)
        )
        return violated(check, service, text, severity="warn", evidence=evidence)
    return passed(check, service, **evidence)


# --- golden results ----------------------------------------------------------------------------


# --- flakiness (latency: `checks/latency.py`) --------------------------------------------------


def flaky_result(service: str, label: str, outcomes: Sequence[tuple[bool, str | None]]) -> CheckResult:
    """regression.flaky: the repeated calls agree on their outcome (pass^k); else fail with the count."""
    check = "regression.flaky"
    ok = sum(1 for good, _ in outcomes if good)
    evidence: dict[str, Any] = {"call": label, "passed": ok, "calls": len(outcomes)}
    if 0 < ok < len(outcomes):
        reasons = sorted({why for good, why in outcomes if not good and why})
        evidence["failures"] = reasons[:5]
        detail = f"; failures: {'; '.join(reasons[:3])}" if reasons else ""
        return violated(check, service, f"{label}: flaky: {ok}/{len(outcomes)} passed{detail}", evidence=evidence)
    return passed(check, service, **evidence)
