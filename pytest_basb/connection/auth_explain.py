"""Say what a refused token is: "HTTP 401 from <url>: the token was rejected (WWW-Authenticate: ...)".

The MCP SDK turns an HTTP 401/403 into a generic JSON-RPC error ("Server returned an error
response") and the status is lost. `RejectionWatch` is an httpx `Auth` that sends every request
unchanged and remembers the last 401/403 answer, so `client.py` can explain the failure instead.
Imported by `client.py` only (it needs httpx2, which comes with `mcp`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass

import httpx2

from pytest_basb.connection.transport_errors import SDK_STAND_INS, HttpAnswer, body_head


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
    """Passes requests through untouched; keeps the last 401/403 answer and the last HTTP error
    answer (status and the start of its body) for the error message."""

    def __init__(self) -> None:
        self.last: Rejection | None = None
        self.last_error: HttpAnswer | None = None

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        response = yield request
        self._note(request, response)
        # A GET answered 405 means "no server stream" and a DELETE ends the session: both normal.
        normal = (request.method, response.status_code) == ("GET", 405) or request.method == "DELETE"
        if response.status_code >= 400 and not normal:
            try:  # an error answer is short; the SDK reads the same (cached) body afterwards
                content = await response.aread()
            except Exception:
                content = b""
            self.last_error = HttpAnswer(
                method=request.method,
                status=response.status_code,
                reason=response.reason_phrase,
                url=str(request.url.copy_with(query=None)),
                body_head=body_head(content),
            )

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        response = yield request
        self._note(request, response)

    def _note(self, request: httpx2.Request, response: httpx2.Response) -> None:
        if response.status_code in (401, 403):
            self.last = Rejection(
                status=response.status_code,
                url=str(request.url.copy_with(query=None)),  # a token in the query must not be printed
                challenge=response.headers.get("www-authenticate"),
                had_credentials=any(h.lower() in ("authorization", "x-api-key", "api-key") for h in request.headers),
            )


def explained(watch: RejectionWatch | None, fallback: str) -> str:
    """The rejection, when the server refused our credentials; the HTTP status and body, when the
    SDK replaced them by a stand-in; else the generic description."""
    if watch is None:
        return fallback
    if watch.last is not None:
        return watch.last.explain()
    error = watch.last_error
    if error is None:
        return fallback
    replaced = any(s in fallback for s in SDK_STAND_INS) or fallback.startswith(f"HTTP {error.status} ")
    return error.explain() if replaced else fallback
