"""Raw HTTP probes for the security suite: what the MCP client would hide (status codes, headers).

One `httpx.Client` per process (certificates verified, no redirects followed); every request has
the service's deadline. Each probe returns `HttpReply` plain data for `checks.transport_security`.
Sessions a probe opens are deleted again (HTTP DELETE), so probing leaves nothing behind.
"""

from __future__ import annotations

import atexit
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_basb.checks.security import is_credential_header
from pytest_basb.checks.transport_security import FOREIGN_ORIGIN, UNSUPPORTED_VERSION, HttpReply

if TYPE_CHECKING:
    import httpx

_READ_LIMIT = 64 * 1024
_CLIENT: httpx.Client | None = None
PROBE_VERSION = "2025-06-18"  # the first version with the MCP-Protocol-Version header rule
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
MCP_ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def client() -> httpx.Client:
    global _CLIENT
    if _CLIENT is None:
        import httpx

        _CLIENT = httpx.Client(follow_redirects=False, headers={"user-agent": "pytest-basb-security"})
        atexit.register(_CLIENT.close)
    return _CLIENT


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path or "/"


def send(
    method: str,
    url: str,
    *,
    sent: str,
    headers: Mapping[str, str],
    timeout: float,
    body: Any = None,
    params: Mapping[str, str] | None = None,
    read_body: bool = True,
) -> HttpReply:
    """One request; the answer's status, headers and the first 64 KiB of its body (unless a stream)."""
    import httpx

    try:
        with client().stream(
            method,
            url,
            headers=dict(headers),
            content=json.dumps(body) if body is not None else None,
            params=dict(params or {}),
            timeout=timeout,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes() if read_body else ():
                chunks.append(chunk)
                size += len(chunk)
                if size >= _READ_LIMIT:
                    break
            text = b"".join(chunks).decode("utf-8", "replace")
            found = {k.lower(): v for k, v in response.headers.items()}
            return HttpReply(sent=sent, status=response.status_code, headers=found, body=text)
    except httpx.HTTPError as exc:
        return HttpReply(sent=sent, error=f"{type(exc).__name__}: {str(exc)[:200]}")


def initialize_body(version: str = PROBE_VERSION, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "pytest-basb-security", "version": "1"},
        },
    }


def without_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not is_credential_header(k)}


def with_wrong_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    wrong = f"basb-gate-wrong-{secrets.token_hex(16)}"
    out = {}
    for name, value in headers.items():
        if is_credential_header(name):
            scheme, _, token = value.partition(" ")
            out[name] = f"{scheme} {wrong}" if token else wrong
        else:
            out[name] = value
    return out


def post_initialize(
    url: str,
    headers: Mapping[str, str],
    *,
    sent: str,
    timeout: float,
    params: Mapping[str, str] | None = None,
    transport: str = "streamable-http",
) -> HttpReply:
    """The request that opens a session: POST initialize (streamable HTTP) or GET the stream (SSE)."""
    if transport == "sse":
        sent = sent.replace("POST", "GET", 1)
        return send(
            "GET",
            url,
            sent=sent,
            headers={"accept": "text/event-stream", **headers},
            timeout=timeout,
            params=params,
            read_body=False,
        )
    reply = send(
        "POST",
        url,
        sent=sent,
        headers={**MCP_ACCEPT, **headers},
        timeout=timeout,
        body=initialize_body(),
        params=params,
    )
    if reply.status is not None and reply.status < 300 and reply.header(SESSION_HEADER):
        close_session(url, headers, reply.header(SESSION_HEADER), timeout=timeout)
    return reply


def bare_probe(url: str, headers: Mapping[str, str], *, timeout: float, transport: str) -> HttpReply:
    """The opening request without the credential headers."""
    sent = f"POST {_path(url)} without credentials"
    return post_initialize(url, without_credentials(headers), sent=sent, timeout=timeout, transport=transport)


def auth_probes(url: str, headers: Mapping[str, str], *, timeout: float, transport: str) -> list[HttpReply]:
    """Without credentials, then with a made-up token in place of each credential."""
    wrong = post_initialize(
        url,
        with_wrong_credentials(headers),
        sent=f"POST {_path(url)} with a wrong token",
        timeout=timeout,
        transport=transport,
    )
    return [bare_probe(url, headers, timeout=timeout, transport=transport), wrong]


def metadata_probes(urls: list[str], headers: Mapping[str, str], *, timeout: float) -> list[HttpReply]:
    """GET each candidate metadata URL until one answers 200."""
    replies = []
    for url in urls:
        reply = send("GET", url, sent=f"GET {_path(url)}", headers={"accept": "application/json"}, timeout=timeout)
        replies.append(reply)
        if reply.status == 200:
            break
    return replies


def token_in_query_probe(
    url: str, headers: Mapping[str, str], token: str, *, timeout: float, transport: str
) -> HttpReply:
    return post_initialize(
        url,
        without_credentials(headers),
        sent=f"POST {_path(url)}?access_token=… (token in the query, no Authorization header)",
        timeout=timeout,
        params={"access_token": token},
        transport=transport,
    )


def origin_probe(url: str, headers: Mapping[str, str], *, timeout: float, transport: str) -> HttpReply:
    return post_initialize(
        url,
        {**headers, "origin": FOREIGN_ORIGIN},
        sent=f"POST {_path(url)} with Origin: {FOREIGN_ORIGIN}",
        timeout=timeout,
        transport=transport,
    )


def preflight_probe(url: str, *, timeout: float) -> HttpReply:
    return send(
        "OPTIONS",
        url,
        sent=f"OPTIONS {_path(url)} (CORS preflight from {FOREIGN_ORIGIN})",
        headers={
            "origin": FOREIGN_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, mcp-session-id, mcp-protocol-version",
        },
        timeout=timeout,
    )


def _negotiated(reply: HttpReply) -> str:
    """protocolVersion from an initialize answer (JSON or one SSE event), else the version asked for."""
    for line in reply.body.splitlines() or [reply.body]:
        text = line.removeprefix("data:").strip()
        if text.startswith("{"):
            try:
                version = json.loads(text).get("result", {}).get("protocolVersion")
            except (ValueError, AttributeError):
                continue
            if isinstance(version, str):
                return version
    return PROBE_VERSION


def open_session(url: str, headers: Mapping[str, str], *, timeout: float) -> tuple[HttpReply, str | None, str]:
    """initialize + notifications/initialized; returns (reply, session id, negotiated version)."""
    reply = send(
        "POST",
        url,
        sent=f"POST {_path(url)} initialize",
        headers={**MCP_ACCEPT, **headers},
        timeout=timeout,
        body=initialize_body(),
    )
    session_id = reply.header(SESSION_HEADER)
    version = _negotiated(reply)
    if reply.status is not None and reply.status < 300:
        extra = {VERSION_HEADER: version, **({SESSION_HEADER: session_id} if session_id else {})}
        send(
            "POST",
            url,
            sent="notifications/initialized",
            headers={**MCP_ACCEPT, **headers, **extra},
            timeout=timeout,
            body={"jsonrpc": "2.0", "method": "notifications/initialized"},
        )
    return reply, session_id, version


def close_session(url: str, headers: Mapping[str, str], session_id: str | None, *, timeout: float) -> None:
    if session_id:
        send("DELETE", url, sent="DELETE session", headers={**headers, SESSION_HEADER: session_id}, timeout=timeout)


def ping(url: str, headers: Mapping[str, str], *, sent: str, timeout: float, extra: Mapping[str, str]) -> HttpReply:
    body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    return send("POST", url, sent=sent, headers={**MCP_ACCEPT, **headers, **extra}, timeout=timeout, body=body)


def protocol_header_probe(
    url: str, headers: Mapping[str, str], *, timeout: float
) -> tuple[HttpReply | None, str | None]:
    """A ping in an open session, with an MCP-Protocol-Version no server supports."""
    opened, session_id, _ = open_session(url, headers, timeout=timeout)
    if opened.status is None or opened.status >= 300:
        return None, f"could not open a session over raw HTTP: {opened.error or f'HTTP {opened.status}'}"
    try:
        extra = {VERSION_HEADER: UNSUPPORTED_VERSION, **({SESSION_HEADER: session_id} if session_id else {})}
        sent = f"POST {_path(url)} ping with MCP-Protocol-Version: {UNSUPPORTED_VERSION}"
        return ping(url, headers, sent=sent, timeout=timeout, extra=extra), None
    finally:
        close_session(url, headers, session_id, timeout=timeout)


def session_id_probes(
    url: str, headers: Mapping[str, str], *, timeout: float
) -> tuple[list[str | None], HttpReply | None, str | None]:
    """Two sessions' ids, and the answer to a ping in a session that does not exist."""
    ids: list[str | None] = []
    version = PROBE_VERSION
    for _ in range(2):
        opened, session_id, version = open_session(url, headers, timeout=timeout)
        if opened.status is None or opened.status >= 300:
            for sid in ids:
                close_session(url, headers, sid, timeout=timeout)
            return ids, None, f"could not open a session over raw HTTP: {opened.error or f'HTTP {opened.status}'}"
        ids.append(session_id)
    unknown: HttpReply | None = None
    if any(ids):
        made_up = f"basb-gate-unknown-{secrets.token_hex(16)}"
        unknown = ping(
            url,
            headers,
            sent=f"POST {_path(url)} ping in an unknown session",
            timeout=timeout,
            extra={VERSION_HEADER: version, SESSION_HEADER: made_up},
        )
    for sid in ids:
        close_session(url, headers, sid, timeout=timeout)
    return ids, unknown, None


def tls_error(url: str, *, timeout: float) -> str | None:
    """None when an https URL's certificate verifies (any HTTP status will do), else why not."""
    import httpx

    try:
        with client().stream("GET", url, timeout=timeout):
            return None
    except httpx.ConnectError as exc:
        return str(exc)[:200] or type(exc).__name__
    except httpx.HTTPError:
        return None  # the TLS handshake succeeded; what came after does not matter here


# -- SSE (2024-11-05): the session id is a query parameter of the message endpoint ---------------

_SSE_SESSION_PARAMS = ("session_id", "sessionId")  # the Python SDK's, the TypeScript SDK's
_SSE_POST_DEADLINE_S = 5.0  # a message endpoint answers at once (202, or 4xx); the reply comes on the stream


def sse_session_probes(
    url: str, headers: Mapping[str, str], *, timeout: float
) -> tuple[list[str | None], HttpReply | None, str | None]:
    """Two SSE sessions' ids, and the answer to a ping posted with an id no session has.

    Both streams stay open while the ping is posted: a server that routes an unknown id to an
    open session (another client's) answers 202 instead of refusing it.
    """
    import contextlib

    import httpx

    ids: list[str | None] = []
    endpoints: list[str] = []
    try:
        with contextlib.ExitStack() as streams:
            for _ in range(2):
                response = streams.enter_context(
                    client().stream("GET", url, headers={"accept": "text/event-stream", **headers}, timeout=timeout)
                )
                if response.status_code >= 300:
                    return ids, None, f"could not open an SSE stream: HTTP {response.status_code}"
                endpoint = _endpoint_event(response)
                if endpoint is None:
                    return ids, None, "the SSE stream sent no `endpoint` event"
                target, param, session_id = _session_of(url, endpoint)
                endpoints.append(target)
                ids.append(session_id)
            if not any(ids):
                return ids, None, None
            made_up = secrets.token_hex(16)  # a well-formed id (the Python SDK's are UUID hex) no session has
            sent = f"POST {_path(endpoints[0])} ping with an unknown {param}"
            body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            extra = {"content-type": "application/json"}
            unknown = send(
                "POST",
                endpoints[0],
                sent=sent,
                headers={**headers, **extra},
                timeout=min(timeout, _SSE_POST_DEADLINE_S),
                body=body,
                params={param: made_up},
            )
            return ids, unknown, None
    except httpx.HTTPError as exc:
        return ids, None, f"SSE probe failed: {type(exc).__name__}: {str(exc)[:200]}"


def _endpoint_event(response: httpx.Response) -> str | None:
    """The data of the first `endpoint` event (the URL to post messages to)."""
    event = ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:") and event == "endpoint":
            return line.partition(":")[2].strip()
        elif not line:
            event = ""
    return None


def _session_of(url: str, endpoint: str) -> tuple[str, str, str | None]:
    """(message URL without the session parameter, the parameter's name, the session id)."""
    from urllib.parse import parse_qsl, urlencode, urljoin, urlunsplit

    absolute = urlsplit(urljoin(url, endpoint))
    query = parse_qsl(absolute.query, keep_blank_values=True)
    found = next(((k, v) for k, v in query if k in _SSE_SESSION_PARAMS), None)
    rest = urlencode([(k, v) for k, v in query if k not in _SSE_SESSION_PARAMS])
    target = urlunsplit((absolute.scheme, absolute.netloc, absolute.path, rest, ""))
    if found is None:
        return target, _SSE_SESSION_PARAMS[0], None
    return target, found[0], found[1]
