"""The only module that imports `mcp`: sessions to services, deadlines and transcripts.

Each worker process runs one anyio event loop in a thread (a blocking portal). Every service gets
one `ServiceSession`, opened lazily by a task that owns the `mcp.Client` context for its whole life
(open and close in the same task, as anyio requires); test code calls into it synchronously, and
every request runs under a deadline, so a hung server costs one timeout, never the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any, TextIO, TypeVar, cast

import anyio
import mcp_types
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from pytest_basb import __version__
from pytest_basb.auth_explain import RejectionWatch, explained
from pytest_basb.mcp_data import Handshake, ServiceError, ToolCallOutcome
from pytest_basb.redaction import Redactor
from pytest_basb.targets.base import Endpoint

T = TypeVar("T")

MAX_REPLY_BYTES = 8 * 1024 * 1024  # larger replies are refused: a smoke check never needs them
TRANSCRIPT_LIMIT = 200  # messages kept per session for failure attachments
_TRANSCRIPT_TEXT_LIMIT = 2000  # characters kept of one message in the transcript
_PAGE_LIMIT = 1000  # a paginator that never ends must not hang the gate
_CLOSE_GRACE_S = 10.0


@dataclass
class Transcript:
    """The JSON-RPC exchange of one session, bounded, redacted on the way in."""

    redactor: Redactor
    messages: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    def record(self, direction: str, payload: Any) -> None:
        self.record_text(direction, json.dumps(payload, default=str))

    def record_text(self, direction: str, text: str) -> None:
        """Record an already serialised message (the transport has the JSON text at hand)."""
        if len(self.messages) >= TRANSCRIPT_LIMIT:
            self.messages.pop(0)
        if len(text) > _TRANSCRIPT_TEXT_LIMIT:
            text = text[:_TRANSCRIPT_TEXT_LIMIT] + f"… ({len(text)} characters)"
        self.messages.append({"t": round(time.time(), 3), "dir": direction, "msg": self.redactor.text(text)})

    def anomaly(self, text: str) -> None:
        if len(self.anomalies) < 50:
            self.anomalies.append(self.redactor.text(text))

    def as_json(self) -> str:
        return json.dumps({"messages": self.messages, "anomalies": self.anomalies}, indent=1)


class McpRuntime:
    """The per-process event loop thread that owns every MCP session of this process."""

    def __init__(self) -> None:
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._sessions: list[ServiceSession] = []

    @property
    def portal(self) -> BlockingPortal:
        if self._portal is None:
            self._portal_cm = start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        return self._portal

    def session(self, endpoint: Endpoint, *, timeout_s: float, redactor: Redactor) -> ServiceSession:
        session = ServiceSession(self, endpoint, timeout_s=timeout_s, redactor=redactor)
        self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every session (their tasks stop their processes), then the loop itself."""
        for session in self._sessions:
            session.close()
        self._sessions.clear()
        if self._portal_cm is not None:
            with contextlib.suppress(Exception):
                self._portal_cm.__exit__(None, None, None)
        self._portal_cm = None
        self._portal = None


class ServiceSession:
    """One MCP session to one service; connects on first use, caches listings."""

    def __init__(self, runtime: McpRuntime, endpoint: Endpoint, *, timeout_s: float, redactor: Redactor) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.transcript = Transcript(redactor)
        self._runtime = runtime
        self._redactor = redactor
        self._client: Client | None = None
        self._handshake: Handshake | None = None
        self._failure: ServiceError | None = None
        self._owner: Future[None] | None = None
        self._ready: anyio.Event | None = None
        self._closing: anyio.Event | None = None
        self._stderr: IO[str] | None = None
        self._listings: dict[str, tuple[list[dict[str, Any]], int]] = {}  # method -> (items, pages)
        self._auth_watch = RejectionWatch()  # remembers a 401/403, so the failure can say so

    # -- connection -------------------------------------------------------------------------

    def handshake(self) -> Handshake:
        """Connect if not yet connected; a failed connect is remembered and re-raised."""
        if self._handshake is None and self._failure is None:
            self._connect()
        if self._failure is not None:
            raise self._failure
        assert self._handshake is not None
        return self._handshake

    def _connect(self) -> None:
        portal = self._runtime.portal
        self._ready, self._closing = portal.call(_new_events)
        self._owner = portal.start_task_soon(self._own)
        reached = portal.call(self._wait_ready)
        if not reached:
            self._owner.cancel()
            self._failure = ServiceError(self._explain(f"no handshake within {self.timeout_s:g}s"), kind="timeout")

    async def _wait_ready(self) -> bool:
        assert self._ready is not None
        with anyio.move_on_after(self.timeout_s):
            await self._ready.wait()
            return True
        return False

    async def _own(self) -> None:
        """Open the client, hold it until asked to close, and close it from this same task."""
        assert self._ready is not None
        assert self._closing is not None
        started = time.perf_counter()
        try:
            client = Client(
                _RecordingTransport(self._transport(), self.transcript),
                mode="auto",
                read_timeout_seconds=self.timeout_s,
                client_info=mcp_types.Implementation(name="pytest-basb", version=__version__),
                cache=None,  # the gate must see the server's real answers, not a client cache
            )
            async with client:
                self._client = client
                self._handshake = _describe(client, time.perf_counter() - started)
                self._ready.set()
                await self._closing.wait()
        except Exception as exc:
            if self._handshake is None:
                failed = explained(self._auth_watch, _describe_exc(exc))
                self._failure = ServiceError(self._explain(f"connect failed: {failed}"), kind="connect")
        finally:
            self._client = None
            self._ready.set()

    def _transport(self) -> Any:
        endpoint = self.endpoint
        if endpoint.transport == "stdio":
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            params = StdioServerParameters(
                command=endpoint.command[0],
                args=list(endpoint.command[1:]),
                env=dict(endpoint.env),
                cwd=endpoint.cwd,
                encoding_error_handler="replace",
            )
            return _stdio_with_group_kill(params, self._stderr)
        assert endpoint.url is not None
        if endpoint.transport == "sse":
            return sse_client(
                endpoint.url, headers=dict(endpoint.headers), timeout=self.timeout_s, auth=self._auth_watch
            )
        return _streamable_http(endpoint.url, dict(endpoint.headers), self._auth_watch)

    def close(self) -> None:
        """Ask the owner task to leave the client context; bounded, then cancelled."""
        owner, self._owner = self._owner, None
        if owner is None or owner.done():
            return
        portal = self._runtime.portal
        with contextlib.suppress(Exception):
            assert self._closing is not None
            portal.call(self._closing.set)
            owner.result(timeout=_CLOSE_GRACE_S)
        if not owner.done():
            owner.cancel()
        if self._stderr is not None:
            self._stderr.close()

    # -- requests ---------------------------------------------------------------------------

    def request(self, what: str, operation: Callable[[Client], Awaitable[T]]) -> T:
        """Run one MCP operation under the deadline; errors become `ServiceError` with context."""
        self.handshake()
        client = self._client
        if client is None:
            raise ServiceError(self._explain(f"{what}: the session is closed"), kind="closed")
        try:
            return self._runtime.portal.call(self._with_deadline, operation, client)
        except TimeoutError:
            raise ServiceError(self._explain(f"{what}: no answer within {self.timeout_s:g}s"), kind="timeout") from None
        except MCPError as exc:
            code = exc.error.code if exc.error is not None else None
            kind = {
                _OVERSIZED_CODE: "oversized",
                mcp_types.CONNECTION_CLOSED: "closed",
                mcp_types.REQUEST_TIMEOUT: "timeout",
            }.get(code or 0, "protocol")
            raise ServiceError(
                self._explain(f"{what}: {explained(self._auth_watch, _describe_exc(exc))}"), kind=kind
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise ServiceError(
                self._explain(f"{what}: connection lost ({type(exc).__name__})"), kind="closed"
            ) from None

    async def _with_deadline(self, operation: Callable[[Client], Awaitable[T]], client: Client) -> T:
        with anyio.fail_after(self.timeout_s):
            return await operation(client)

    def liveness(self) -> float:
        """`ping` on legacy sessions, `server/discover` on modern ones; returns seconds taken."""
        era = self.handshake().era
        started = time.perf_counter()
        if era == "legacy":
            self.request("ping", lambda c: c.send_ping())
        else:
            self.request("server/discover", lambda c: c.session.discover())
        return time.perf_counter() - started

    def tools(self) -> list[dict[str, Any]]:
        return self._listing("tools/list", "tools", lambda c, cursor: c.list_tools(cursor=cursor))

    def resources(self) -> list[dict[str, Any]]:
        return self._listing("resources/list", "resources", lambda c, cursor: c.list_resources(cursor=cursor))

    def prompts(self) -> list[dict[str, Any]]:
        return self._listing("prompts/list", "prompts", lambda c, cursor: c.list_prompts(cursor=cursor))

    def pages(self, method: str) -> int:
        """How many pages the last full listing of `method` took."""
        return self._listings[method][1] if method in self._listings else 0

    def _listing(
        self, method: str, key: str, fetch: Callable[[Client, str | None], Awaitable[Any]]
    ) -> list[dict[str, Any]]:
        """List to the end of pagination once per session; every check reads the cached copy."""
        if method in self._listings:
            return list(self._listings[method][0])

        async def walk(client: Client) -> tuple[list[dict[str, Any]], int]:
            items: list[dict[str, Any]] = []
            seen: set[str] = set()
            cursor: str | None = None
            for page in range(1, _PAGE_LIMIT + 1):
                result = await fetch(client, cursor)
                items.extend(i.model_dump(by_alias=True, mode="json", exclude_none=True) for i in getattr(result, key))
                cursor = result.next_cursor
                if cursor is None:
                    return items, page
                if cursor in seen:
                    raise ServiceError(f"{method}: the server repeated cursor {cursor!r}", kind="protocol")
                seen.add(cursor)
            raise ServiceError(f"{method}: more than {_PAGE_LIMIT} pages", kind="protocol")

        self._listings[method] = self.request(method, walk)
        return list(self._listings[method][0])

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> ToolCallOutcome:
        """Call a tool; a JSON-RPC error is returned as data (checks judge it), not raised."""

        async def call(client: Client) -> ToolCallOutcome:
            try:
                result = await client.session.call_tool(name, arguments)
            except MCPError as exc:
                if exc.error is not None and exc.error.code in _TRANSPORT_CODES:
                    raise  # not the server's answer but a broken exchange: request() explains it
                return ToolCallOutcome(
                    is_error=True,
                    structured_content=None,
                    text="",
                    error_code=exc.error.code if exc.error else None,
                    error_message=str(exc),
                )
            except RuntimeError as exc:  # the SDK refused structuredContent against outputSchema
                return ToolCallOutcome(is_error=False, structured_content=None, text="", validation_error=str(exc))
            assert isinstance(result, mcp_types.CallToolResult)
            return ToolCallOutcome(
                is_error=bool(result.is_error),
                structured_content=result.structured_content,
                text="\n".join(getattr(block, "text", "") for block in result.content),
            )

        return self.request(f"tools/call {name}", call)

    def read_resource(self, uri: str) -> list[dict[str, Any]]:
        async def read(client: Client) -> list[dict[str, Any]]:
            result = await client.read_resource(uri)
            return [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in result.contents]

        return self.request(f"resources/read {uri}", read)

    def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> list[dict[str, Any]]:
        async def get(client: Client) -> list[dict[str, Any]]:
            result = await client.get_prompt(name, arguments)
            return [m.model_dump(by_alias=True, mode="json", exclude_none=True) for m in result.messages]

        return self.request(f"prompts/get {name}", get)

    # -- diagnostics ------------------------------------------------------------------------

    def stderr_tail(self, lines: int = 5) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        with contextlib.suppress(Exception):
            self._stderr.flush()
            self._stderr.seek(0)
            tail = self._stderr.read()[-4000:].strip().splitlines()[-lines:]
            return self._redactor.text("\n".join(tail))
        return ""

    def _explain(self, what: str) -> str:
        parts = [f"{self.endpoint.service_id} ({self.endpoint.display}): {what}"]
        if self.transcript.anomalies:
            parts.append("transport anomalies: " + "; ".join(self.transcript.anomalies[:3]))
        if tail := self.stderr_tail():
            parts.append("server stderr (last lines):\n" + tail)
        return self._redactor.text("\n".join(parts))


_OVERSIZED_CODE = -32099  # our own code for a reply refused for its size
# Client-side codes for a broken exchange (the SDK's connection-closed and timeout, our size limit).
_TRANSPORT_CODES = (mcp_types.CONNECTION_CLOSED, mcp_types.REQUEST_TIMEOUT, _OVERSIZED_CODE)


async def _new_events() -> tuple[anyio.Event, anyio.Event]:
    return anyio.Event(), anyio.Event()


@contextlib.asynccontextmanager
async def _streamable_http(url: str, headers: dict[str, str], auth: RejectionWatch) -> AsyncIterator[Any]:
    async with (
        create_mcp_http_client(headers=headers, auth=auth) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


@contextlib.asynccontextmanager
async def _stdio_with_group_kill(params: StdioServerParameters, errlog: IO[str]) -> AsyncIterator[Any]:
    """stdio_client, plus a kill of the server's process group once it is closed.

    The SDK stops the server, but a server that exits on stdin EOF leaves its own children
    running; they share its process group (the SDK starts it in a new session), so the group
    id is the server's pid, found as the one new child of this process.
    """
    before = _child_pids()
    spawned: set[int] = set()
    try:
        async with stdio_client(params, errlog=cast(TextIO, errlog)) as streams:
            spawned = _child_pids() - before
            yield streams
    finally:
        for pid in spawned:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def _child_pids() -> set[int]:
    """Direct children of this process (Linux /proc; elsewhere nothing, and no group kill)."""
    me = str(os.getpid())
    children: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError), open(f"/proc/{entry.name}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[1] == me:
                        children.add(int(entry.name))
    return children


class _RecordingTransport:
    """Wraps a transport: records every message, notes garbage, refuses oversized replies.

    An oversized reply is swapped for a JSON-RPC error on the same request id, so the waiting
    request fails at once with a message that says why, instead of at the deadline.
    """

    def __init__(self, inner: Any, transcript: Transcript) -> None:
        self._inner = inner
        self._transcript = transcript
        self._stack: contextlib.AsyncExitStack | None = None
        self._exiting = False

    async def __aenter__(self) -> tuple[Any, Any]:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            read, write = await stack.enter_async_context(self._inner)
            to_client_send, to_client = anyio.create_memory_object_stream[SessionMessage | Exception](16)
            from_client, from_client_recv = anyio.create_memory_object_stream[SessionMessage](16)
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            tg.start_soon(self._server_to_client, read, to_client_send)
            tg.start_soon(self._client_to_server, from_client_recv, write)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack
        return to_client, from_client

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        assert self._stack is not None
        self._exiting = True
        return await self._stack.__aexit__(*exc_info)

    async def _server_to_client(self, read: Any, send: Any) -> None:
        async with send:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                async for item in read:
                    await send.send(self._inspect(item))
        if not self._exiting:
            self._transcript.anomaly("the server closed the connection")

    def _inspect(self, item: SessionMessage | Exception) -> SessionMessage | Exception:
        if isinstance(item, Exception):
            self._transcript.anomaly(f"non-JSON-RPC output: {_short(str(item))}")
            self._transcript.record("in!", {"error": _short(str(item))})
            return item
        text = item.message.model_dump_json(by_alias=True, exclude_none=True)
        size = len(text)
        if size > MAX_REPLY_BYTES:
            self._transcript.anomaly(f"reply of {size} bytes exceeds the {MAX_REPLY_BYTES}-byte limit")
            request_id = getattr(item.message, "id", None)
            self._transcript.record("in", {"id": request_id, "oversized_bytes": size})
            return SessionMessage(
                mcp_types.JSONRPCError(
                    jsonrpc="2.0",
                    id=request_id,
                    error=mcp_types.ErrorData(
                        code=_OVERSIZED_CODE,
                        message=f"reply of {size} bytes refused: over the gate's {MAX_REPLY_BYTES}-byte limit",
                    ),
                )
            )
        self._transcript.record_text("in", text)
        return item

    async def _client_to_server(self, receive: Any, write: Any) -> None:
        async with receive:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                async for item in receive:
                    self._transcript.record_text("out", item.message.model_dump_json(by_alias=True, exclude_none=True))
                    await write.send(item)
        with contextlib.suppress(Exception):
            await write.aclose()


def _describe(client: Client, duration_s: float) -> Handshake:
    session = client.session
    era = "modern" if session.discover_result is not None else "legacy"
    info = client.server_info
    caps = client.server_capabilities.model_dump(by_alias=True, mode="json", exclude_none=True)
    return Handshake(
        protocol_version=client.protocol_version,
        era=era,
        server_name=info.name if info else None,
        server_version=info.version if info else None,
        capabilities=caps,
        instructions=client.instructions,
        duration_s=duration_s,
    )


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe_exc(e) for e in exc.exceptions)
    if isinstance(exc, MCPError) and exc.error is not None:
        return f"JSON-RPC error {exc.error.code}: {exc.error.message}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {_short(text)}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
