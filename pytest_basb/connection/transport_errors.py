"""Say what happened on the wire: "connection refused", "reset by the server", "HTTP 500 ...: <body>",
"TLS: certificate not trusted", "timed out connecting" — instead of an exception's class name.

httpx wraps the operating system's error a few levels deep (httpx -> httpcore -> anyio -> OSError);
`describe_transport` walks that chain. `HttpAnswerWatch` remembers the last HTTP error answer (status
and the first bytes of its body), which the MCP SDK replaces by a generic JSON-RPC error.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_basb.model.text import shorten

BODY_HEAD_CHARS = 300
# What the SDK puts in place of an HTTP error status: the status itself is the better message.
SDK_STAND_INS = ("Server returned an error response", "JSON-RPC error -32601: Not Found")


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP error answer: status, reason, where (no query: it may hold a token) and the body's start."""

    method: str
    status: int
    reason: str
    url: str
    body_head: str

    def explain(self) -> str:
        body = f": {self.body_head}" if self.body_head else " (empty body)"
        return f"HTTP {self.status} {self.reason} from {self.method} {self.url}{body}".replace("  ", " ")


def body_head(content: bytes, limit: int = BODY_HEAD_CHARS) -> str:
    text = content.decode("utf-8", errors="replace")
    return shorten(text, limit, squash=True) if text.strip() else ""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_transport(exc: BaseException, phase: str = "") -> str | None:
    """A plain sentence for a transport failure (None when `exc` is not one): what happened and, for
    timeouts, in which phase (`phase`: e.g. "the handshake")."""
    names = {type(e).__name__ for e in _chain(exc)}
    os_error = next((e for e in _chain(exc) if isinstance(e, OSError) and e.errno is not None), None)
    tls = next((e for e in _chain(exc) if isinstance(e, ssl.SSLError)), None)
    during = f" during {phase}" if phase else ""
    if tls is not None:
        reason = getattr(tls, "reason", None) or str(tls)
        if isinstance(tls, ssl.SSLCertVerificationError):
            return f"TLS: the server's certificate is not trusted ({tls.verify_message or reason})"
        if reason == "WRONG_VERSION_NUMBER":
            return "TLS handshake failed (WRONG_VERSION_NUMBER): that port speaks plain HTTP; use http://"
        return f"TLS handshake failed: {reason}"
    if "HTTPStatusError" in names:
        response = getattr(exc, "response", None)
        if response is not None:
            return _status_line(response)
    if names & {"ConnectTimeout"}:
        return f"timed out connecting (TCP/TLS){during}: nothing answered the connection"
    if names & {"ReadTimeout"}:
        return f"timed out waiting for the server's answer{during}"
    if names & {"WriteTimeout", "PoolTimeout"}:
        return f"timed out sending the request{during}"
    if os_error is not None:
        code = os_error.errno
        if code == errno.ECONNREFUSED:
            return "connection refused: nothing listens at that host and port (is the server running, on that port?)"
        if code in (errno.ECONNRESET, errno.EPIPE):
            return "connection reset by the server (it closed the connection abruptly)"
        if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"host unreachable ({os_error.strerror})"
        if code in (errno.ETIMEDOUT,):
            return f"timed out connecting{during}"
    if "gaierror" in names or any("Name or service not known" in str(e) for e in _chain(exc)):
        return "host not found (DNS lookup failed): check the URL's host name"
    if names & {"RemoteProtocolError"}:
        return f"the server closed the connection without an answer ({shorten(str(exc), 120, squash=True)})"
    if names & {"ReadError", "WriteError"}:
        return "the server closed the connection"
    return None


def _status_line(response: object) -> str:
    status = getattr(response, "status_code", 0)
    reason = getattr(response, "reason_phrase", "") or ""
    request = getattr(response, "request", None)
    url = str(request.url.copy_with(query=None)) if request is not None else ""
    try:
        head = body_head(getattr(response, "content", b"") or b"")
    except Exception:  # a streamed body that was never read
        head = ""
    method = getattr(request, "method", "") if request is not None else ""
    return HttpAnswer(method=method, status=status, reason=reason, url=url, body_head=head).explain()
