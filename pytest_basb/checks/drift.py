"""Regression drift: canonical surfaces, the breaking/additive classifier, golden diffs, latency, flakiness.

Pure functions from plain data (listings as dicts, recorded baselines as dicts) to `Drift` and
`CheckResult`: no pytest, no MCP. `regression.surface`, `regression.descriptions` and
`basb-baseline diff` share `compare_surfaces`, so a promotion is judged as a deployment is.

Schemas are compared by what a caller relies on. Inputs are what callers send: a change that makes
the tool accept less (a removed property, a new required one, a narrower type, enum or bound) is
breaking; one that accepts more is additive. Outputs are what callers read: a promised (required)
property that goes away, or a value the caller could not get before, is breaking. A change the
classifier cannot reason about is "changed (unclassified)" and warns: nothing is called safe by
default.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_basb.model.results import CheckResult, passed, skipped, violated
from pytest_basb.model.text import shorten

Severity = Literal["breaking", "additive", "unclassified"]
Direction = Literal["input", "output"]

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
SCHEMA_TEXT = frozenset({"title", "description", "examples", "$comment"})
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Keywords the classifier understands; any other keyword that changes is "unclassified".
_HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "$ref",
        "$defs",
        "definitions",
        *_LOWER_BOUNDS,
        *_UPPER_BOUNDS,
    }
)
LATENCY_FLOOR_MS = 50.0
MAX_DIFF_LINES = 20


# --- canonical surface -------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """The one serialisation hashes are taken over: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


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
        return f"{self.entry}: {self.field} changed: {_quote(self.old)} → {_quote(self.new)}"


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
            Change("unclassified", "server", f"name changed: {_quote(old.get('name'))} → {_quote(new.get('name'))}")
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
        changes += _compare_schema(label, "input", old.get("inputSchema"), new.get("inputSchema"), texts)
        if old.get("outputSchema") is not None and new.get("outputSchema") is None:
            changes.append(Change("breaking", label, "outputSchema removed: structured results are no longer promised"))
        elif old.get("outputSchema") is None and new.get("outputSchema") is not None:
            changes.append(Change("additive", label, "outputSchema added: structured results are now promised"))
        else:
            changes += _compare_schema(label, "output", old.get("outputSchema"), new.get("outputSchema"), texts)
    elif kind == "resources":
        if old.get("mimeType") != new.get("mimeType"):
            was, now = _quote(old.get("mimeType")), _quote(new.get("mimeType"))
            changes.append(Change("breaking", label, f"mimeType changed: {was} → {now}"))
        if old.get("name") != new.get("name"):
            was, now = _quote(old.get("name")), _quote(new.get("name"))
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


def _compare_schema(label: str, direction: Direction, old: Any, new: Any, texts: list[TextChange]) -> list[Change]:
    if old is None and new is None:
        return []
    if old is None or new is None:  # an input schema that appears or disappears: nothing to reason on
        return [
            Change("unclassified", label, f"{direction} schema changed (unclassified): {_short(old)} → {_short(new)}")
        ]
    old_texts, new_texts = dict(_schema_texts(old, ())), dict(_schema_texts(new, ()))
    for where in sorted(set(old_texts) & set(new_texts)):  # nodes on one side only are structural changes
        if old_texts[where] != new_texts[where]:
            texts.append(TextChange(label, f"{direction} {where}", old_texts.get(where), new_texts.get(where)))
    walker = _SchemaWalk(old, new, direction)
    return [
        Change(sev, label, f"{_where(direction, path)}: {detail}") for sev, path, detail in walker.compare(old, new, ())
    ]


def _where(direction: Direction, path: Sequence[str]) -> str:
    return f"{direction} `{'.'.join(path)}`" if path else f"{direction} schema"


def _schema_texts(schema: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str | None]]:
    """(location, text) of the title and description of every schema node (not property names)."""
    if not isinstance(schema, Mapping):
        return
    where = ".".join(path) if path else "(root)"
    for key in ("title", "description"):  # None too: a text that appears on a kept node counts
        value = schema.get(key)
        yield f"`{where}` {key}", value if value is None or isinstance(value, str) else canonical_json(value)
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, Mapping):
            prefix = () if key == "properties" else (key,)
            for name in sorted(value):
                yield from _schema_texts(value[name], (*path, *prefix, str(name)))
    for key in _SCHEMA_ONE:
        yield from _schema_texts(schema.get(key), (*path, "[]" if key == "items" else key))
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _schema_texts(sub, (*path, f"{key}[{i}]"))


def strip_text(schema: Any) -> Any:
    """`schema` without titles, descriptions, examples and comments: its structure only."""
    if isinstance(schema, list):
        return [strip_text(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in SCHEMA_TEXT:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: strip_text(sub) for name, sub in value.items()}
        elif key in _SCHEMA_ONE or key in _SCHEMA_LISTS:
            out[key] = strip_text(value)
        else:
            out[key] = value
    return out


_Found = tuple[Severity, tuple[str, ...], str]


class _SchemaWalk:
    """Compares two JSON Schemas node by node, following local `$ref`s of each root document."""

    def __init__(self, old_root: Any, new_root: Any, direction: Direction) -> None:
        self.roots = (old_root, new_root)
        self.direction = direction
        self.seen: set[tuple[str, str]] = set()

    def _narrowed(self) -> Severity:
        """A schema that now allows less: breaks senders (input), harmless for readers (output)."""
        return "breaking" if self.direction == "input" else "additive"

    def _widened(self) -> Severity:
        return "additive" if self.direction == "input" else "breaking"

    def compare(self, old: Any, new: Any, path: tuple[str, ...]) -> list[_Found]:
        refs = (
            old.get("$ref") if isinstance(old, Mapping) else None,
            new.get("$ref") if isinstance(new, Mapping) else None,
        )
        if refs[0] is not None and refs[1] is not None:
            if (str(refs[0]), str(refs[1])) in self.seen:  # recursive schema: compared once already
                return []
            self.seen.add((str(refs[0]), str(refs[1])))
        old, new = _as_schema(_resolve(old, self.roots[0])), _as_schema(_resolve(new, self.roots[1]))
        if canonical_json(strip_text(old)) == canonical_json(strip_text(new)):
            return []
        old_branches, new_branches = _branches(old), _branches(new)
        if len(old_branches) > 1 or len(new_branches) > 1:
            return self._alternatives(old_branches, new_branches, path)
        found = self._types(old, new, path)
        found += self._enum(old, new, path)
        found += self._bounds(old, new, path)
        found += self._object(old, new, path)
        if isinstance(old.get("items"), Mapping | bool) and isinstance(new.get("items"), Mapping | bool):
            found += self.compare(old["items"], new["items"], (*path, "[]"))
        elif canonical_json(strip_text(old.get("items"))) != canonical_json(strip_text(new.get("items"))):
            found.append(self._unclassified("items", old.get("items"), new.get("items"), path))
        for key in sorted((set(old) | set(new)) - _HANDLED - SCHEMA_TEXT):
            if canonical_json(strip_text(old.get(key))) != canonical_json(strip_text(new.get(key))):
                found.append(self._unclassified(key, old.get(key), new.get(key), path))
        return found

    @staticmethod
    def _unclassified(key: str, old: Any, new: Any, path: tuple[str, ...]) -> _Found:
        return "unclassified", path, f"`{key}` changed (unclassified): {_short(old)} → {_short(new)}"

    def _alternatives(
        self, old: list[dict[str, Any]], new: list[dict[str, Any]], path: tuple[str, ...]
    ) -> list[_Found]:
        left_old = [b for b in old if not any(_same(b, n) for n in new)]
        left_new = [b for b in new if not any(_same(b, o) for o in old)]
        found: list[_Found] = []
        for branch in list(left_old):
            partner = next((n for n in left_new if _types_of(n) == _types_of(branch)), None)
            if partner is not None:
                left_old.remove(branch)
                left_new.remove(partner)
                found += self.compare(branch, partner, path)
        removed = "no longer accepted" if self.direction == "input" else "no longer returned"
        added = "now accepted" if self.direction == "input" else "may now be returned"
        found += [(self._narrowed(), path, f"alternative {_short(b)} {removed}") for b in left_old]
        found += [(self._widened(), path, f"alternative {_short(b)} {added}") for b in left_new]
        return found

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...]) -> list[_Found]:
        before, after = _types_of(old), _types_of(new)
        if before == after:
            return []
        lost = _uncovered(before, after)
        gained = _uncovered(after, before)
        text = f"type {_type_text(before)} → {_type_text(after)}"
        if lost and gained:
            return [("breaking", path, f"{text} (changed)")]
        if lost:
            return [(self._narrowed(), path, f"{text} (narrowed)")]
        if gained:
            return [(self._widened(), path, f"{text} (widened)")]
        return []

    def _enum(self, old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...]) -> list[_Found]:
        before, after = _enum_of(old), _enum_of(new)
        if before == after:
            return []
        if after is None:
            return [(self._widened(), path, f"enum {_values(before)} removed (any value)")]
        if before is None:
            return [(self._narrowed(), path, f"now restricted to enum {_values(after)}")]
        found: list[_Found] = []
        if removed := sorted(before - after):
            found.append(
                (
                    self._narrowed(),
                    path,
                    f"enum narrowed: {_values(before)} → {_values(after)}, removed {_values(set(removed))}",
                )
            )
        if added := sorted(after - before):
            found.append(
                (
                    self._widened(),
                    path,
                    f"enum widened: {_values(before)} → {_values(after)}, added {_values(set(added))}",
                )
            )
        return found

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...]) -> list[_Found]:
        found: list[_Found] = []
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            numbers = all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in (before, after)
            )
            if not numbers:
                found.append(self._unclassified(key, before, after, path))
                continue
            lower = key in _LOWER_BOUNDS
            if before is None:
                tighter = True
            elif after is None:
                tighter = False
            else:
                tighter = after > before if lower else after < before
            severity = self._narrowed() if tighter else self._widened()
            found.append(
                (severity, path, f"{key} {_short(before)} → {_short(after)} ({'narrowed' if tighter else 'widened'})")
            )
        return found

    def _object(self, old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...]) -> list[_Found]:
        before: Mapping[str, Any] = old.get("properties") or {}
        after: Mapping[str, Any] = new.get("properties") or {}
        was_required, now_required = set(old.get("required") or ()), set(new.get("required") or ())
        found: list[_Found] = []
        for name in sorted(set(before) | set(after) | was_required | now_required):
            where = (*path, name)
            if name in before and name not in after:
                if self.direction == "input":
                    found.append(("breaking", where, "property removed"))
                elif name in was_required:
                    found.append(("breaking", where, "promised property removed (was required)"))
                else:
                    found.append(("unclassified", where, "optional property removed"))
            elif name in after and name not in before:
                required = name in now_required
                if self.direction == "input":
                    found.append(
                        (
                            "breaking" if required else "additive",
                            where,
                            f"new {'required' if required else 'optional'} property",
                        )
                    )
                else:
                    found.append(("additive", where, "new property"))
            else:
                if name in now_required and name not in was_required:
                    detail = "optional → required" if self.direction == "input" else "now always present (required)"
                    found.append((self._narrowed(), where, detail))
                elif name in was_required and name not in now_required:
                    detail = "required → optional" if self.direction == "input" else "no longer promised (not required)"
                    found.append((self._widened(), where, detail))
                if name in before and name in after:
                    found += self.compare(before[name], after[name], where)
        found += self._additional(old, new, path)
        return found

    def _additional(self, old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...]) -> list[_Found]:
        before, after = old.get("additionalProperties"), new.get("additionalProperties")
        if canonical_json(strip_text(before)) == canonical_json(strip_text(after)):
            return []
        closed_before, closed_after = before is False, after is False
        if closed_after and not closed_before:
            return [(self._narrowed(), path, "additionalProperties: other properties no longer allowed")]
        if closed_before and not closed_after:
            # Readers of an output commonly ignore extra keys; extra input keys are accepted more widely.
            return [("additive", path, "additionalProperties: other properties now allowed")]
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            return self.compare(before, after, (*path, "*"))
        return [self._unclassified("additionalProperties", before, after, path)]


def _as_schema(schema: Any) -> dict[str, Any]:
    if schema is True or schema is None:
        return {}
    if schema is False:
        return {"not": {}}
    return dict(schema) if isinstance(schema, Mapping) else {"const": schema}


def _resolve(schema: Any, root: Any, depth: int = 0) -> Any:
    """Follow a local `$ref` (`#/$defs/x`, `#/definitions/x`); sibling keywords are kept (2020-12)."""
    if not isinstance(schema, Mapping) or not isinstance(schema.get("$ref"), str) or depth > 20:
        return schema
    ref: str = schema["$ref"]
    if not ref.startswith("#"):
        return schema  # remote refs stay opaque: any change to them is "unclassified"
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            return schema
        target = target[part]
    merged = {**(_as_schema(target)), **{k: v for k, v in schema.items() if k != "$ref"}}
    return _resolve(merged, root, depth + 1)


def _branches(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return [{**base, **_as_schema(branch)} for branch in schema[key]]
    return [dict(schema)]


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return canonical_json(strip_text(a)) == canonical_json(strip_text(b))


def _types_of(schema: Mapping[str, Any]) -> frozenset[str] | None:
    kind = schema.get("type")
    if kind is None:
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else list(schema.get("enum") or [])
            return frozenset(_json_type(v) for v in values)
        return None
    return frozenset([kind] if isinstance(kind, str) else kind)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _uncovered(these: frozenset[str] | None, by: frozenset[str] | None) -> bool:
    """Some type of `these` is not allowed by `by` (None = any type; number covers integer)."""
    if by is None:
        return False
    if these is None:
        return True
    return any(t not in by and not (t == "integer" and "number" in by) for t in these)


def _type_text(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _enum_of(schema: Mapping[str, Any]) -> set[str] | None:
    if "const" in schema:
        return {canonical_json(schema["const"])}
    if isinstance(schema.get("enum"), list):
        return {canonical_json(v) for v in schema["enum"]}
    return None


def _values(values: set[str] | None) -> str:
    return "[" + ", ".join(sorted(values or ())) + "]"


def _summary(kind: str, entry: Mapping[str, Any]) -> str:
    if kind == "tools":
        required = (entry.get("inputSchema") or {}).get("required") or []
        return f"{entry.get('name')}({', '.join(map(str, required))})"
    return str(entry.get(KEY_FIELD[kind]))


def _short(value: Any, limit: int = 80) -> str:
    """A schema keyword's value for a message (None: the keyword is absent)."""
    return "absent" if value is None else _value(value, limit)


def _value(value: Any, limit: int = 80) -> str:
    """A JSON value for a message, cut at `limit` characters."""
    return shorten(canonical_json(value), limit)


def _quote(text: Any, limit: int = 300) -> str:
    if text is None:
        return "(none)"
    return json.dumps(shorten(str(text), limit), ensure_ascii=False)


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
                lines.append(f"{sub}: missing (expected {_value(expected[key])})")
            elif key not in expected:
                lines.append(f"{sub}: unexpected (got {_value(actual[key])})")
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
            lines.append(f"{path}/{i}: missing (expected {_value(expected[i])})")
        for i in range(len(expected), len(actual)):
            lines.append(f"{path}/{i}: unexpected (got {_value(actual[i])})")
        return lines
    if canonical_json(expected) != canonical_json(actual):
        return [f"{where}: expected {_value(expected)}, got {_value(actual)}"]
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


# --- latency and flakiness ---------------------------------------------------------------------


def p95(samples_ms: Sequence[float]) -> float:
    """The 95th percentile by the nearest-rank method (for 5 samples: the slowest)."""
    if not samples_ms:
        raise ValueError("p95 of no samples")
    ordered = sorted(samples_ms)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def baseline_budget_ms(baseline_p95_ms: float) -> float:
    """How slow a call may get against its baseline: max(2 × p95, p95 + 50 ms)."""
    return max(2 * baseline_p95_ms, baseline_p95_ms + LATENCY_FLOOR_MS)


def latency_figures(samples_ms: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(samples_ms)
    return {
        "samples": len(ordered),
        "p50_ms": round(ordered[(len(ordered) - 1) // 2], 1),
        "p95_ms": round(p95(ordered), 1),
        "max_ms": round(ordered[-1], 1),
    }


def latency_result(
    service: str,
    label: str,
    batches_ms: Sequence[Sequence[float]],
    *,
    budget_ms: float | None,
    baseline: Mapping[str, Any] | None,
) -> CheckResult:
    """regression.latency: p95 within the inventory budget and the baseline budget.

    More than one batch means the first was over budget and a second was measured to confirm:
    the fastest batch is judged, so one stall on a busy machine does not fail the gate.
    """
    check = "regression.latency"
    figures = [latency_figures(batch) for batch in batches_ms]
    best = min(figures, key=lambda f: float(f["p95_ms"]))
    measured = float(best["p95_ms"])
    evidence: dict[str, Any] = {"call": label, **best, "batches_p95_ms": [f["p95_ms"] for f in figures]}
    limits: list[tuple[str, float]] = []
    if budget_ms is not None:
        limits.append((f"the inventory budget {budget_ms:g} ms", budget_ms))
    baseline_p95 = baseline.get("p95_ms") if baseline else None
    if isinstance(baseline_p95, int | float):
        evidence["baseline_p95_ms"] = baseline_p95
        limit = round(baseline_budget_ms(float(baseline_p95)), 1)
        limits.append((f"max(2 × baseline p95 {baseline_p95:g} ms, baseline + 50 ms) = {limit:g} ms", limit))
    if not limits:
        return skipped(
            check, service, f"{label}: no latency budget in the inventory and no baseline figure; record a baseline"
        )
    over = [text for text, limit in limits if measured > limit]
    runs = f"p95 {measured:g} ms over {best['samples']} calls"
    if len(figures) > 1:
        shown = ", ".join(f"{float(f['p95_ms']):g}" for f in figures)
        runs += f" (batches: {shown} ms)"
    if over:
        return violated(check, service, f"{label}: {runs}, over {' and '.join(over)}", evidence=evidence)
    return passed(check, service, **evidence)


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
