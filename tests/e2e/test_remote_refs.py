"""A remote `$ref` in a server's schema is never fetched: a real HTTP server counts the requests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from pytest_basb.model.json_schema import instance_problem


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
