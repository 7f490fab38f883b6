"""JSON Schema handling the gate applies to servers' schemas and the inventory's `expect.schema`."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_basb.inventory.load import InventoryError, load_environment
from pytest_basb.model.json_schema import instance_problem, schema_problem


@pytest.fixture
def schema_host() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that would serve a schema, and the paths it was asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/schema.json", asked
    server.shutdown()


def test_a_remote_ref_is_never_fetched(schema_host: tuple[str, list[str]]) -> None:
    url, asked = schema_host
    why = instance_problem(5, {"$ref": url})
    assert why is not None
    assert "remote references are not fetched" in why
    assert asked == []


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
