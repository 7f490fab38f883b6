"""docs/reference/inventory.md, generated from the inventory's JSON Schema so the two cannot drift.

    python -m pytest_basb.inventory.reference docs/reference/inventory.md   (what `make docs` runs)

Every key of the schema becomes one row: its path, its type and its description. A test compares
the committed file with what this module renders.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

HEADER = """# Inventory reference

<!-- Generated from schemas/inventory.schema.json by `make docs`
     (python -m pytest_basb.inventory.reference docs/reference/inventory.md). Do not edit by hand. -->

Every key of `basb-inventory.yaml` (format version 1). `<env>` is an environment's name and `<id>`
a service's id, both `[a-z0-9][a-z0-9-]*`. `defaults` takes every service key and is merged into
every service of every environment; a string may use `${VAR}` (or `${VAR:-default}`), read from the
environment of the gate. Unknown keys are errors that name the file, the key path and a fix.
"""


def render(schema: Mapping[str, Any]) -> str:
    """The whole Markdown page for this schema."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    sections = [
        ("Top level", "", schema),
        ("An environment: `environments.<env>`", "environments.<env>.", defs.get("environment", {})),
        ("A service: `environments.<env>.services.<id>` (and `defaults`)", "", defs.get("serviceFields", {})),
    ]
    lines = [HEADER]
    for title, prefix, node in sections:
        lines += [f"## {title}", "", "| key | type | meaning |", "|---|---|---|"]
        for path, prop, required in _rows(node, defs, prefix, top=True):
            lines.append(f"| `{path}` | {_type(prop, defs)} | {_meaning(prop, defs, required)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _rows(
    node: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, *, top: bool = False
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(key path, its schema, required) for every property, depth first; environments and
    services get sections of their own, so their maps are not entered here."""
    required = set(node.get("required", ()))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, prop, name in required
        if top and name in ("environments", "services", "defaults"):
            continue
        target = _resolved(prop, defs)
        if target.get("type") == "object" and "properties" in target:
            yield from _rows(target, defs, f"{path}.")
        items = _resolved(target.get("items", {}), defs)
        if target.get("type") == "array" and "properties" in items:
            yield from _rows(items, defs, f"{path}[].")


def _resolved(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs.get(ref.removeprefix("#/$defs/"), {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    ref = str(prop.get("$ref", "")).removeprefix("#/$defs/")
    names = {"argv": "list of strings (argv)", "stringMap": "map of strings", "url": "URL", "id": "id"}
    if ref in names:
        return names[ref]
    node = _resolved(prop, defs)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        item = _resolved(node.get("items", {}), defs)
        return f"list of {'objects' if item.get('type') == 'object' else str(item.get('type', 'values')) + 's'}"
    if kind == "object":
        return "map" if "properties" not in node else "object"
    return str(kind or "any")


def _meaning(prop: Mapping[str, Any], defs: Mapping[str, Any], required: bool) -> str:
    text = str(prop.get("description") or _resolved(prop, defs).get("description") or "")
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"**Required.** {text}".strip() if required and "Required" not in text else text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pytest_basb.inventory.reference OUTPUT.md", file=sys.stderr)
        return 2
    from pytest_basb.inventory.load import inventory_schema
    from pytest_basb.model.files import atomic_write

    atomic_write(Path(args[0]), render(inventory_schema()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
