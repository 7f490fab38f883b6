"""Say what a refused token is: "HTTP 401 from <url>: the token was rejected (WWW-Authenticate: ...)".

The MCP SDK turns an HTTP 401/403 into a generic JSON-RPC error ("Server returned an error
response") and the status is lost. `RejectionWatch` is an httpx `Auth` that sends every request
unchanged and remembers the last 401/403 answer, so `client.py` can explain the failure instead.
Imported by `client.py` only (it needs httpx2, which comes with `mcp`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import httpx2


@dataclass(frozen=True)
class Rejection:
    status: int
    url: str
    challenge: str | None  # the WWW-Authenticate header, if any
    had_credentials: bool

    def explain(self) -> str:
        challenge = f" (WWW-Authenticate: {self.challenge})" if self.challenge else " (no WWW-Authenticate header)"
        if self.status == 403:
            return f"HTTP 403 from {self.url}: access refused, e.g. a missing scope{challenge}"
        if self.had_credentials:
            return f"HTTP 401 from {self.url}: the token was rejected (expired or wrong?){challenge}"
        return (
            f"HTTP 401 from {self.url}: the service requires a token and none was sent{challenge}; "
            'declare it in the inventory: headers: {Authorization: "Bearer ${TOKEN_VAR}"}'
        )


class RejectionWatch(httpx2.Auth):
    """Passes requests through untouched; keeps the last 401/403 answer for the error message."""

    def __init__(self) -> None:
        self.last: Rejection | None = None

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        response = yield request
        if response.status_code in (401, 403):
            self.last = Rejection(
                status=response.status_code,
                url=str(request.url.copy_with(query=None)),  # a token in the query must not be printed
                challenge=response.headers.get("www-authenticate"),
                had_credentials=any(h.lower() in ("authorization", "x-api-key", "api-key") for h in request.headers),
            )


def explained(watch: RejectionWatch | None, fallback: str) -> str:
    """The rejection, when the server refused our credentials; else the generic description."""
    return watch.last.explain() if watch is not None and watch.last is not None else fallback
