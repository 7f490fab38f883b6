"""Plain HTTP requests of the checks (health endpoints), over one client per process.

A fresh `httpx` client per request loads the CA bundle each time (tens of milliseconds); one
client, kept until the run's sessions close, pays that once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

_client: httpx.Client | None = None


def client() -> httpx.Client:
    global _client
    if _client is None:
        import httpx

        _client = httpx.Client(follow_redirects=False)
    return _client


def close() -> None:
    global _client
    if _client is not None:
        _client.close()
        _client = None
