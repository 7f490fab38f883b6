"""docs/reference/inventory.md is generated from the inventory schema: it is current and complete."""

from __future__ import annotations

from pytest_basb.inventory.load import inventory_schema
from pytest_basb.inventory.reference import render
from tests.helpers import REPO

REFERENCE = REPO / "docs" / "reference" / "inventory.md"


def test_the_committed_reference_is_what_the_schema_renders() -> None:
    assert REFERENCE.read_text() == render(inventory_schema()), "stale: run `make docs` and commit the result"


def test_every_key_of_the_schema_has_a_row_with_a_meaning() -> None:
    text = render(inventory_schema())
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    keys = {row.split("`")[1] for row in rows}
    for key in ("launch", "command", "cwd", "container.image", "smoke[].expect.schema", "environments.<env>.extends"):
        assert key in keys, key
    assert all(not row.rstrip().endswith("|  |") for row in rows), [r for r in rows if r.rstrip().endswith("|  |")]


def test_a_new_key_in_the_schema_makes_the_reference_stale() -> None:
    schema = inventory_schema()
    changed = {**schema, "$defs": {**schema["$defs"]}}
    fields = dict(changed["$defs"]["serviceFields"])
    fields["properties"] = {**fields["properties"], "owner": {"type": "string", "description": "Team on call."}}
    changed["$defs"]["serviceFields"] = fields
    assert "| `owner` | string | Team on call. |" in render(changed)
    assert render(changed) != REFERENCE.read_text()
