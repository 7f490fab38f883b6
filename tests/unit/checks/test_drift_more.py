"""The drift classifier's less common paths: resource names, prompt arguments made required and
reworded, input schemas that appear, enums dropped, boolean and remote-ref schemas, const values."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb.checks.drift import compare_surfaces, surface


def tool(inputs: Any = None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "t", "description": "t things", **fields}
    if inputs is not None:
        entry["inputSchema"] = inputs
    return entry


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    found = compare_surfaces(surface(tools=[old]), surface(tools=[new]))
    return [(c.severity, c.detail) for c in found.changes]


def prop(schema: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": schema}}


def test_a_renamed_resource_is_unclassified() -> None:
    old = surface(resources=[{"uri": "note://a", "name": "Inbox"}])
    new = surface(resources=[{"uri": "note://a", "name": "Inbox (all)"}])
    [change] = compare_surfaces(old, new).changes
    assert (change.severity, change.detail) == ("unclassified", 'name changed: "Inbox" → "Inbox (all)"')


def test_prompt_argument_made_required_and_reworded() -> None:
    old = surface(prompts=[{"name": "p", "arguments": [{"name": "topic", "description": "What about"}]}])
    new = surface(prompts=[{"name": "p", "arguments": [{"name": "topic", "required": True, "description": "Subject"}]}])
    found = compare_surfaces(old, new)
    assert [(c.severity, str(c)) for c in found.changes] == [
        ("breaking", "prompt p: argument `topic`: optional → required")
    ]
    [text] = found.texts
    assert (text.field, text.old, text.new) == ("argument `topic` description", "What about", "Subject")
    assert text.schema_changed  # reported with the breaking change, not as a rug pull of its own


def test_an_input_schema_that_appears_is_unclassified() -> None:
    [(severity, detail)] = changes(tool(), tool({"type": "object"}))
    assert severity == "unclassified"
    assert detail == 'input schema changed (unclassified): absent → {"type":"object"}'


def test_an_enum_removed_widens_inputs_and_breaks_outputs() -> None:
    before, after = prop({"type": "string", "enum": ["a", "b"]}), prop({"type": "string"})
    assert changes(tool(before), tool(after)) == [("additive", 'input `x`: enum ["a", "b"] removed (any value)')]
    out = changes(tool({"type": "object"}, outputSchema=before), tool({"type": "object"}, outputSchema=after))
    assert [s for s, _ in out] == ["breaking"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # `false` accepts nothing: never classified as safe.
        (True, False, {"unclassified"}),
        # const values have the JSON type of the value: 1 -> 1.5 drops the accepted 1.
        ({"const": 1}, {"const": 1.5}, {"additive", "breaking"}),
        ({"const": "a"}, {"type": "string"}, {"additive"}),
        ({"type": "string"}, {"const": "a"}, {"breaking"}),
    ],
)
def test_boolean_and_const_schemas(old: Any, new: Any, expected: set[str]) -> None:
    assert {s for s, _ in changes(tool(prop(old)), tool(prop(new)))} == expected


def test_remote_refs_are_opaque_any_change_is_unclassified() -> None:
    old = prop({"$ref": "https://example.org/schemas/note.json"})
    new = prop({"$ref": "https://example.org/schemas/note-v2.json"})
    assert [s for s, _ in changes(tool(old), tool(new))] == ["unclassified"]
    assert changes(tool(old), tool(prop({"$ref": "https://example.org/schemas/note.json"}))) == []


def test_additional_properties_schema_to_boolean_true_is_unclassified() -> None:
    old = {"type": "object", "additionalProperties": {"type": "string"}}
    new = {"type": "object", "additionalProperties": True}
    [(severity, detail)] = changes(tool(old), tool(new))
    assert severity == "unclassified"
    assert detail == 'input schema: `additionalProperties` changed (unclassified): {"type":"string"} → true'


def test_tuple_items_changes_are_unclassified() -> None:
    old = prop({"type": "array", "items": [{"type": "string"}]})
    new = prop({"type": "array", "items": [{"type": "integer"}]})
    assert [s for s, _ in changes(tool(old), tool(new))] == ["unclassified"]
