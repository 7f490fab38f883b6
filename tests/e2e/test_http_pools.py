"""One HTTP pool per origin: each server keeps its own connection, and closing releases them all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx2
import pytest

from pytest_basb.connection.http_pools import LentPools, OriginPools


class _Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.peers: list[tuple[str, int]] = []  # one entry per request: the client's address
        self.open_connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

    def setup(self) -> None:
        super().setup()
        server: _Counting = self.server  # type: ignore[assignment]
        with server.lock:
            server.open_connections += 1

    def finish(self) -> None:
        super().finish()
        server: _Counting = self.server  # type: ignore[assignment]
        with server.lock:
            server.open_connections -= 1

    def do_GET(self) -> None:
        server: _Counting = self.server  # type: ignore[assignment]
        server.peers.append(self.client_address)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def servers() -> Iterator[list[_Counting]]:
    running = [_Counting() for _ in range(3)]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield running
    for server in running:
        server.shutdown()
        server.server_close()


def test_each_origin_keeps_one_connection_and_closing_releases_all(servers: list[_Counting]) -> None:
    async def main() -> None:
        pools = OriginPools()
        # Two clients (two services with different headers) lend the same pools.
        clients = [httpx2.AsyncClient(transport=LentPools(pools), trust_env=False) for _ in range(2)]
        for _ in range(3):
            for client in clients:
                for server in servers:
                    assert (await client.get(server.url)).text == "ok"
        for client in clients:
            await client.aclose()  # a session's client closing leaves the shared pools open
        assert (await httpx2.AsyncClient(transport=LentPools(pools)).get(servers[0].url)).status_code == 200
        for server in servers:
            assert len(server.peers) == 6 + (1 if server is servers[0] else 0)
            assert len(set(server.peers)) == 1, server.peers  # one connection per origin, reused
        await pools.aclose()
        with anyio.fail_after(10):
            while any(server.open_connections for server in servers):
                await anyio.sleep(0.02)

    anyio.run(main)
