"""Schemas compared by what a caller relies on. Inputs are what callers send: a change that makes
the tool accept less (a removed property, a new required one, a narrower type, enum or bound) is
breaking; one that accepts more is additive. Outputs are what callers read: a promised (required)
property that goes away, or a value the caller could not get before, is breaking. A change the
classifier cannot reason about is "changed (unclassified)" and warns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pytest_basb.checks.changes import Change, Direction, Severity, TextChange, canonical_json, short_value

_Found = tuple[Severity, tuple[str, ...], str]
SCHEMA_TEXT = frozenset({"title", "description", "examples", "$comment"})
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
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


def compare_schema(label: str, direction: Direction, old: Any, new: Any, texts: list[TextChange]) -> list[Change]:
    if old is None and new is None:
        return []
    if old is None or new is None:  # an input schema that appears or disappears: nothing to reason on
        return [
            Change(
                "unclassified",
                label,
                f"{direction} schema changed (unclassified): {short_value(old)} → {short_value(new)}",
            )
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
    for key in SCHEMA_MAPS:
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
        if key in SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: strip_text(sub) for name, sub in value.items()}
        elif key in _SCHEMA_ONE or key in _SCHEMA_LISTS:
            out[key] = strip_text(value)
        else:
            out[key] = value
    return out


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
        return "unclassified", path, f"`{key}` changed (unclassified): {short_value(old)} → {short_value(new)}"

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
        found += [(self._narrowed(), path, f"alternative {short_value(b)} {removed}") for b in left_old]
        found += [(self._widened(), path, f"alternative {short_value(b)} {added}") for b in left_new]
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
                (
                    severity,
                    path,
                    f"{key} {short_value(before)} → {short_value(after)} ({'narrowed' if tighter else 'widened'})",
                )
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
