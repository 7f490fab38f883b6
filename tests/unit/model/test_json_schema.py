"""JSON Schema handling the gate applies to servers' schemas and the inventory's `expect.schema`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_basb.inventory.load import InventoryError, load_environment
from pytest_basb.model.json_schema import instance_problem, schema_problem


def test_refs_inside_the_schema_resolve() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/text"}}, "$defs": {"text": {"type": "string"}}}
    assert instance_problem({"a": "x"}, schema) is None
    assert instance_problem({"a": 1}, schema) == "at a: 1 is not of type 'string'"


def test_an_invalid_schema_is_named_not_raised() -> None:
    assert schema_problem({"type": 5}) is not None
    assert (instance_problem(1, {"type": 5}) or "").startswith("the schema is not valid")


def test_a_value_nested_too_deeply_is_named_not_raised() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(5000):
        child: list[object] = []
        node.append(child)
        node = child
    schema = {"type": "array", "items": {"$ref": "#"}}
    assert instance_problem(deep, schema) == "the value or the schema is nested too deeply to check"


def test_an_invalid_expect_schema_is_an_inventory_error(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n      a:\n        transport: stdio\n"
        "        command: [python, x.py]\n        smoke:\n          - tool: echo\n"
        "            expect: {schema: {type: 5}}\n"
    )
    with pytest.raises(InventoryError, match=r"environments\.t\.services\.a\.smoke\.0\.expect\.schema is not a valid"):
        load_environment(inventory, "t", environ={})
