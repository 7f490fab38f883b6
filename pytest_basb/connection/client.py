"""The only module that imports `mcp`: connections to services, deadlines, transcripts.

Each process runs one anyio event loop in a thread (a blocking portal). Every service gets one
`Connection`, whose owner task holds the `mcp.Client` context for its whole life (open and close in
the same task, as anyio requires). Connections open concurrently (bounded) when the run starts and
fetch their listings at once (prefetch); checks then judge cached data. The test thread waits on
the loop in short slices, so Ctrl-C is honoured at once, and signals are blocked in the loop thread
so the kernel always delivers them to the thread that can act on them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import re
import signal
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.abc
import httpx2
import mcp_types
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from pytest_basb.connection import event_limit
from pytest_basb.connection.auth_explain import RejectionWatch, explained
from pytest_basb.connection.http_pools import LentPools, OriginPools
from pytest_basb.connection.speculation import Speculation
from pytest_basb.inventory.redaction import Redactor
from pytest_basb.model.mcp_data import Handshake, ServiceError, ToolCallOutcome
from pytest_basb.model.text import shorten
from pytest_basb.model.version import __version__
from pytest_basb.targets.base import Endpoint
from pytest_basb.targets.stdio_process import Oversized, StdioProcess

if TYPE_CHECKING:
    from pytest_basb.targets.reaper import ProcessRegistry

T = TypeVar("T")

MAX_REPLY_BYTES = 8 * 1024 * 1024  # larger replies are refused: a smoke check never needs them
# The HTTP transports' limit on one SSE event (the SDK's is 1 MiB): a little above the reply limit,
# so the gate's own refusal ("reply of N bytes refused") decides, and memory stays bounded.
SSE_EVENT_LIMIT = MAX_REPLY_BYTES + 1024 * 1024
TRANSCRIPT_LIMIT = 200  # messages kept per session for failure attachments
PREFETCH_CONCURRENCY = 32  # connections opening at once (stdio servers are processes: bounded)
LISTINGS = {"tools/list": "tools", "resources/list": "resources", "prompts/list": "prompts"}
_MESSAGE_LIMIT = 160  # characters of an exception or stray output quoted in a message
_TRANSCRIPT_TEXT_LIMIT = 2000  # characters kept of one message in the transcript
_PAGE_LIMIT = 1000  # a paginator that never ends must not hang the gate
_WAIT_SLICE_S = 0.1  # the test thread wakes this often, so a pending Ctrl-C is raised
_STDIO_GRACE_S = 1.0  # a server may exit on its own after stdin closes; then its group is killed
_CLOSE_BUDGET_S = 5.0  # all connections together, after which the rest is cancelled
# Failures after which a session is not asked again: its later checks cite the first one.
BREAKING = frozenset({"timeout", "closed", "oversized", "connect"})


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
    """The per-process event loop thread that owns every MCP connection of this process."""

    def __init__(self, registry: ProcessRegistry | None = None) -> None:
        self.registry = registry
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._connections: list[Connection] = []
        self._opening: anyio.Semaphore | None = None
        self._http_pools: OriginPools | None = None
        self._owners: anyio.abc.TaskGroup | None = None

    @property
    def portal(self) -> BlockingPortal:
        if self._portal is None:
            self._portal_cm = start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
            self._portal.call(_block_signals_in_this_thread)
            self._portal.start_task(self._host_owners)
        return self._portal

    async def _host_owners(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """A task group that outlives any one call: every connection's owner task runs in it."""
        async with anyio.create_task_group() as owners:
            self._owners = owners
            task_status.started()
            await anyio.sleep_forever()

    def start_owner(self, func: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """From the loop thread: start a connection's owner task (lives until the runtime closes)."""
        assert self._owners is not None
        self._owners.start_soon(func, *args)

    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `func(*args)` on the loop and wait for it in slices (Ctrl-C stays responsive)."""
        future = self.portal.start_task_soon(func, *args)
        try:
            while not future.done():
                concurrent.futures.wait([future], timeout=_WAIT_SLICE_S)
        except BaseException:
            future.cancel()
            raise
        return future.result()

    def connection(self, endpoint: Endpoint, *, timeout_s: float, transcript: Transcript) -> Connection:
        connection = Connection(self, endpoint, timeout_s=timeout_s, transcript=transcript)
        self._connections.append(connection)
        return connection

    def open_all(self, connections: Iterable[Connection], *, prefetch: bool) -> None:
        """Open connections concurrently (at most PREFETCH_CONCURRENCY at a time), each within its deadline."""
        pending = [c for c in connections if not c.started]
        if not pending:
            return

        async def open_each() -> None:
            async with anyio.create_task_group() as tg:
                for connection in pending:
                    tg.start_soon(connection.open, prefetch)

        self.call(open_each)

    def close(self, *, fast: bool = False) -> None:
        """Close every connection at once (in parallel); `fast` kills servers without a grace period."""
        connections, self._connections = self._connections, []
        if self._portal is not None:
            if fast:
                for connection in connections:
                    connection.kill()
            with contextlib.suppress(BaseException):
                self._portal.call(self._close_all, connections, fast)
            with contextlib.suppress(BaseException):
                assert self._portal_cm is not None
                self._portal_cm.__exit__(None, None, None)
        for connection in connections:
            connection.kill()  # whatever survived the close (a cancelled owner) dies now
            connection.release()
        self._portal_cm = None
        self._portal = None

    def kill_now(self) -> None:
        """Kill every server process of this runtime; safe from a signal handler's thread."""
        for connection in list(self._connections):
            connection.kill()

    async def _close_all(self, connections: list[Connection], fast: bool) -> None:
        with anyio.move_on_after(0.5 if fast else _CLOSE_BUDGET_S):
            async with anyio.create_task_group() as tg:
                for connection in connections:
                    tg.start_soon(connection.close)
        for connection in connections:
            connection.cancel()
        if self._owners is not None:
            self._owners.cancel_scope.cancel()  # the host task, and any owner that did not close
        if self._http_pools is not None:
            with anyio.move_on_after(1.0, shield=True):
                await self._http_pools.aclose()

    # -- inside the loop --------------------------------------------------------------------

    def opening_slots(self) -> anyio.Semaphore:
        if self._opening is None:
            self._opening = anyio.Semaphore(PREFETCH_CONCURRENCY)
        return self._opening

    def http_pools(self) -> OriginPools:
        """The connection pools (and the one TLS context) of every HTTP session of this process."""
        if self._http_pools is None:
            self._http_pools = OriginPools()
        return self._http_pools


class Connection:
    """One MCP session to one service: opened by an owner task, which also closes it."""

    def __init__(self, runtime: McpRuntime, endpoint: Endpoint, *, timeout_s: float, transcript: Transcript) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.transcript = transcript
        self.handshake: Handshake | None = None
        self.failure: ServiceError | None = None
        # method -> (items, pages) or the error it ended with; filled by the prefetch
        self.prefetched: dict[str, tuple[list[dict[str, Any]], int] | ServiceError] = {}
        self.stderr: IO[str] | None = None
        self.started = False
        # Requests the checks will make, sent during the prefetch (see speculation.py), and answers.
        self.speculate: Callable[[str, dict[str, list[dict[str, Any]]]], list[Speculation]] | None = None
        self._speculated: dict[tuple[str, str, str], deque[tuple[Any, float]]] = {}
        self._runtime = runtime
        self._client: Client | None = None
        self._process: StdioProcess | None = None
        self._scope: anyio.CancelScope | None = None
        self._closing: anyio.Event | None = None
        self._done: anyio.Event | None = None
        self._auth_watch = RejectionWatch()  # remembers a 401/403, so the failure can say so

    # -- life cycle (loop thread) ----------------------------------------------------------

    async def open(self, prefetch: bool) -> None:
        """Start the owner task and wait until the session is ready, or failed, or out of time."""
        self.started = True
        self._closing, self._done, self._scope = anyio.Event(), anyio.Event(), anyio.CancelScope()
        ready, admitted, prefetched = anyio.Event(), anyio.Event(), anyio.Event()
        self._runtime.start_owner(self._own, ready, admitted, prefetched, prefetch)
        await admitted.wait()  # time spent waiting for a free slot is not the server's
        with anyio.move_on_after(self.timeout_s):
            await ready.wait()
        if self.handshake is None and self.failure is None:
            self.failure = ServiceError(self._explain(f"no handshake within {self.timeout_s:g}s"), kind="timeout")
            self.cancel()
            self.kill()
        await prefetched.wait()

    async def _own(self, ready: anyio.Event, admitted: anyio.Event, prefetched: anyio.Event, prefetch: bool) -> None:
        """Open the client, hold it until asked to close, and close it from this same task."""
        assert self._closing is not None
        assert self._done is not None
        assert self._scope is not None
        slots = self._runtime.opening_slots()
        holding = False
        try:
            with self._scope:
                await slots.acquire()
                holding = True
                admitted.set()
                started = time.perf_counter()
                client = Client(
                    _RecordingTransport(self._transport(), self.transcript),
                    mode="auto",
                    read_timeout_seconds=self.timeout_s,
                    client_info=mcp_types.Implementation(name="pytest-basb", version=__version__),
                    cache=None,  # the gate must see the server's real answers, not a client cache
                )
                async with client:
                    self._client = client
                    self.handshake = _describe(client, time.perf_counter() - started)
                    ready.set()
                    if prefetch:
                        await self._prefetch(client)
                    prefetched.set()
                    slots.release()
                    holding = False
                    await self._closing.wait()
        except Exception as exc:
            if self.handshake is None and self.failure is None:
                failed = explained(self._auth_watch, describe_exc(exc))
                self.failure = ServiceError(self._explain(f"connect failed: {failed}"), kind="connect")
        finally:
            self._client = None
            if holding:
                slots.release()
            for event in (admitted, ready, prefetched, self._done):
                event.set()

    async def _prefetch(self, client: Client) -> None:
        """Fetch every listing the server declares, each under the deadline; errors are kept."""
        assert self.handshake is not None
        for method, key in LISTINGS.items():
            if key not in self.handshake.capabilities:
                continue
            try:
                with anyio.fail_after(self.timeout_s):
                    self.prefetched[method] = await list_all(client, method)
            except TimeoutError:
                error = ServiceError(self._explain(f"{method}: no answer within {self.timeout_s:g}s"), kind="timeout")
            except Exception as exc:
                error = self.error_for(method, exc)
            else:
                continue
            self.prefetched[method] = error
            if error.kind in BREAKING:
                return  # a session that broke will not answer the next listing either
        if self.speculate is not None:
            listings = {m: v[0] for m, v in self.prefetched.items() if not isinstance(v, ServiceError)}
            await self._send_ahead(client, self.speculate(self.handshake.era, listings))

    async def _send_ahead(self, client: Client, speculations: list[Speculation]) -> None:
        """Ask now what the checks will ask; stop at the first answer that breaks the session."""
        for op in speculations:
            started = time.perf_counter()
            what = _label(op)
            try:
                with anyio.fail_after(self.timeout_s):
                    result: Any = await _OPERATIONS[op.operation](client, *op.args)
            except TimeoutError:
                result = ServiceError(self._explain(f"{what}: no answer within {self.timeout_s:g}s"), kind="timeout")
            except Exception as exc:
                result = self.error_for(what, exc)
            self._speculated.setdefault(op.key, deque()).append((result, time.perf_counter() - started))
            if isinstance(result, ServiceError) and result.kind in BREAKING:
                return

    def take_speculated(self, key: tuple[str, str, str]) -> tuple[Any, float] | None:
        """The answer sent ahead for this check's request (once), or None: ask the server."""
        answers = self._speculated.get(key)
        return answers.popleft() if answers else None

    def _transport(self) -> Any:
        endpoint = self.endpoint
        if endpoint.transport == "stdio":
            return self._stdio()
        assert endpoint.url is not None
        if endpoint.transport == "sse":
            return event_limit.sse_client(
                endpoint.url,
                max_event_size=SSE_EVENT_LIMIT,
                headers=dict(endpoint.headers),
                timeout=self.timeout_s,
                auth=self._auth_watch,
            )
        return _streamable_http(endpoint.url, dict(endpoint.headers), self._runtime.http_pools(), self._auth_watch)

    @contextlib.asynccontextmanager
    async def _stdio(self) -> AsyncIterator[tuple[Any, Any]]:
        """The server's stdout lines as JSON-RPC messages, size-limited before they are assembled."""
        import tempfile

        self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        endpoint = self.endpoint
        try:
            process = await StdioProcess.spawn(
                endpoint.command,
                env=dict(endpoint.env),
                cwd=endpoint.cwd,
                stderr=self.stderr,
                registry=self._runtime.registry,
            )
        except OSError as exc:
            raise ServiceError(f"cannot start {endpoint.command[0]}: {exc.strerror or exc}", kind="connect") from None
        self._process = process
        to_client, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](16)
        to_server, from_client = anyio.create_memory_object_stream[SessionMessage](16)

        async def read() -> None:
            async with to_client:
                async for line in process.lines(MAX_REPLY_BYTES):
                    if isinstance(line, Oversized):
                        await to_client.send(_oversized_reply(line.size, line.head))
                    elif line.strip():
                        await to_client.send(_parse_line(line))

        async def write() -> None:
            async with from_client:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    async for message in from_client:
                        text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                        await process.send(text.encode() + b"\n")

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                tg.start_soon(write)
                try:
                    yield from_server, to_server
                finally:
                    await process.stop(_STDIO_GRACE_S)
                    tg.cancel_scope.cancel()
        finally:
            process.kill()

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._done is not None:
            await self._done.wait()

    def cancel(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()

    def release(self) -> None:
        if self.stderr is not None:
            with contextlib.suppress(Exception):
                self.stderr.close()

    # -- requests (test thread) ------------------------------------------------------------

    def run(self, what: str, operation: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run one MCP operation under the deadline; errors become `ServiceError` with context."""
        client = self._client
        if client is None:
            raise ServiceError(self._explain(f"{what}: the session is closed"), kind="closed")
        try:
            result: T = self._runtime.call(self._with_deadline, operation, client, *args)
            return result
        except TimeoutError:
            raise ServiceError(self._explain(f"{what}: no answer within {self.timeout_s:g}s"), kind="timeout") from None
        except (MCPError, anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise self.error_for(what, exc) from None

    async def _with_deadline(self, operation: Callable[..., Awaitable[T]], client: Client, *args: Any) -> T:
        with anyio.fail_after(self.timeout_s):
            return await operation(client, *args)

    def error_for(self, what: str, exc: BaseException) -> ServiceError:
        if isinstance(exc, ServiceError):
            return exc
        if isinstance(exc, MCPError):
            code = exc.error.code if exc.error is not None else None
            kind = {
                _OVERSIZED_CODE: "oversized",
                mcp_types.CONNECTION_CLOSED: "closed",
                mcp_types.REQUEST_TIMEOUT: "timeout",
            }.get(code or 0, "protocol")
            return ServiceError(self._explain(f"{what}: {explained(self._auth_watch, describe_exc(exc))}"), kind=kind)
        if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream):
            return ServiceError(self._explain(f"{what}: connection lost ({type(exc).__name__})"), kind="closed")
        return ServiceError(self._explain(f"{what}: {describe_exc(exc)}"), kind="protocol")

    # -- diagnostics ------------------------------------------------------------------------

    def stderr_tail(self, lines: int = 8) -> str:
        """The server's last non-blank stderr lines, and its first error line (the root cause is rarely last)."""
        if self.stderr is None or self.stderr.closed:
            return ""
        with contextlib.suppress(Exception):
            self.stderr.flush()
            self.stderr.seek(0)
            text = self.stderr.read()[-8000:]
            from pytest_basb.connection.stderr_lines import meaningful_lines

            return self.transcript.redactor.text("\n".join(meaningful_lines(text, lines)))
        return ""

    def _explain(self, what: str) -> str:
        parts = [f"{self.endpoint.service_id} ({self.endpoint.display}): {what}"]
        if self.transcript.anomalies:
            parts.append("transport anomalies: " + "; ".join(self.transcript.anomalies[:3]))
        if tail := self.stderr_tail():
            parts.append("server stderr (last lines):\n" + tail)
        return self.transcript.redactor.text("\n".join(parts))


# -- operations on an open client (loop thread) ---------------------------------------------


async def list_all(client: Client, method: str) -> tuple[list[dict[str, Any]], int]:
    """List to the end of pagination; returns the items and the number of pages."""
    key = LISTINGS[method]
    fetch = {
        "tools/list": client.list_tools,
        "resources/list": client.list_resources,
        "prompts/list": client.list_prompts,
    }[method]
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    cursor: str | None = None
    for page in range(1, _PAGE_LIMIT + 1):
        result = await fetch(cursor=cursor)
        items.extend(i.model_dump(by_alias=True, mode="json", exclude_none=True) for i in getattr(result, key))
        cursor = result.next_cursor
        if cursor is None:
            return items, page
        if cursor in seen:
            raise ServiceError(f"{method}: the server repeated cursor {cursor!r}", kind="protocol")
        seen.add(cursor)
    raise ServiceError(f"{method}: more than {_PAGE_LIMIT} pages", kind="protocol")


async def liveness(client: Client, era: str) -> None:
    """`ping` on legacy sessions, `server/discover` on modern ones."""
    if era == "legacy":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the SDK deprecates ping; legacy servers still need it
            await client.send_ping()
    else:
        await client.session.discover()


async def call_tool(client: Client, name: str, arguments: dict[str, Any] | None) -> ToolCallOutcome:
    """Call a tool; a JSON-RPC error is returned as data (checks judge it), not raised."""
    try:
        result = await client.session.call_tool(name, arguments)
    except MCPError as exc:
        if exc.error is not None and exc.error.code in _TRANSPORT_CODES:
            raise  # not the server's answer but a broken exchange: Connection.run explains it
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


async def read_resource(client: Client, uri: str) -> list[dict[str, Any]]:
    result = await client.read_resource(uri)
    return [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in result.contents]


async def get_prompt(client: Client, name: str, arguments: dict[str, str] | None) -> list[dict[str, Any]]:
    result = await client.get_prompt(name, arguments)
    return [m.model_dump(by_alias=True, mode="json", exclude_none=True) for m in result.messages]


def _label(op: Speculation) -> str:
    """The request as the checks' own messages name it."""
    if op.operation == "liveness":
        return "ping" if op.args[0] == "legacy" else "server/discover"
    method = {"call_tool": "tools/call", "read_resource": "resources/read", "get_prompt": "prompts/get"}
    return f"{method[op.operation]} {op.args[0]}"


_OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    "liveness": liveness,
    "call_tool": call_tool,
    "read_resource": read_resource,
    "get_prompt": get_prompt,
}

# -- transports ------------------------------------------------------------------------------

_OVERSIZED_CODE = -32099  # our own code for a reply refused for its size
# Client-side codes for a broken exchange (the SDK's connection-closed and timeout, our size limit).
_TRANSPORT_CODES = (mcp_types.CONNECTION_CLOSED, mcp_types.REQUEST_TIMEOUT, _OVERSIZED_CODE)
_ID_IN_HEAD = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def _block_signals_in_this_thread() -> None:
    # Process-directed signals (Ctrl-C) then go to the test thread, which can act on them.
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _parse_line(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError:
        # The line itself says what printed it; the parser's complaint does not.
        return ValueError(repr(line[:_MESSAGE_LIMIT].decode("utf-8", "replace")))


def _oversized_reply(size: int, head: bytes) -> SessionMessage | Exception:
    """An error on the request the oversized line answered, so it fails now and says why."""
    match = _ID_IN_HEAD.search(head)
    message = f"reply of {size} bytes refused: over the gate's {MAX_REPLY_BYTES}-byte limit"
    if match is None:
        return ValueError(message)
    return SessionMessage(
        mcp_types.JSONRPCError(
            jsonrpc="2.0",
            id=json.loads(match.group(1)),
            error=mcp_types.ErrorData(code=_OVERSIZED_CODE, message=message),
        )
    )


@contextlib.asynccontextmanager
async def _streamable_http(
    url: str, headers: dict[str, str], pools: OriginPools, auth: RejectionWatch
) -> AsyncIterator[Any]:
    # Headers differ per service, so each session has its own client, but all share the pools.
    http = httpx2.AsyncClient(
        headers=headers,
        auth=auth,
        timeout=httpx2.Timeout(30.0, read=300.0),
        transport=LentPools(pools),
        trust_env=False,
    )
    async with http, streamable_http_client(url, http_client=http, max_sse_event_size=SSE_EVENT_LIMIT) as streams:
        yield streams


class _RecordingTransport:
    """Wraps a transport: records every message, notes garbage, refuses oversized replies.

    An oversized reply is swapped for a JSON-RPC error on the same request id, so the waiting
    request fails at once with a message that says why, instead of at the deadline. The streams
    are wrapped, not pumped through tasks of their own: a hop per message cost a fifth of the
    client's time.
    """

    def __init__(self, inner: Any, transcript: Transcript) -> None:
        self._inner = inner
        self._transcript = transcript
        self.exiting = False

    async def __aenter__(self) -> tuple[_RecordingReader, _RecordingWriter]:
        read, write = await self._inner.__aenter__()
        return _RecordingReader(read, self._transcript, self), _RecordingWriter(write, self._transcript)

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self.exiting = True
        result: bool | None = await self._inner.__aexit__(*exc_info)
        return result


class _RecordingReader:
    """The server's messages as the SDK reads them, each inspected and recorded on the way."""

    def __init__(self, inner: Any, transcript: Transcript, transport: _RecordingTransport) -> None:
        self._inner = inner
        self._transcript = transcript
        self._transport = transport

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item = await self._inner.receive()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            if not self._transport.exiting:
                self._transcript.anomaly("the server closed the connection")
            raise anyio.EndOfStream from None
        return self._inspect(item)

    def __aiter__(self) -> _RecordingReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _RecordingReader:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def _inspect(self, item: SessionMessage | Exception) -> SessionMessage | Exception:
        if isinstance(item, Exception):
            self._transcript.anomaly(f"non-JSON-RPC output: {shorten(str(item), _MESSAGE_LIMIT, squash=True)}")
            self._transcript.record("in!", {"error": shorten(str(item), _MESSAGE_LIMIT, squash=True)})
            return item
        text = item.message.model_dump_json(by_alias=True, exclude_none=True)
        size = len(text)
        if size > MAX_REPLY_BYTES:  # HTTP replies arrive whole; stdio ones were refused while read
            request_id = getattr(item.message, "id", None)
            reply = _oversized_reply(size, json.dumps({"id": request_id}).encode())
            item = reply if isinstance(reply, SessionMessage) else item
            text = json.dumps({"id": request_id, "oversized_bytes": size})
        error = getattr(item.message, "error", None)
        if error is not None and error.code == _OVERSIZED_CODE:
            self._transcript.anomaly(error.message)
        self._transcript.record_text("in", text)
        return item


class _RecordingWriter:
    """The client's messages on their way to the server, recorded; a closed server drops them
    (the request then fails when the reader sees the end of the stream)."""

    def __init__(self, inner: Any, transcript: Transcript) -> None:
        self._inner = inner
        self._transcript = transcript

    async def send(self, item: SessionMessage, /) -> None:
        self._transcript.record_text("out", item.message.model_dump_json(by_alias=True, exclude_none=True))
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self._inner.send(item)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._inner.aclose()

    async def __aenter__(self) -> _RecordingWriter:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


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


def describe_exc(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe_exc(e) for e in exc.exceptions)
    if isinstance(exc, ServiceError):
        return str(exc)
    if isinstance(exc, MCPError) and exc.error is not None:
        return f"JSON-RPC error {exc.error.code}: {exc.error.message}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {shorten(text, _MESSAGE_LIMIT, squash=True)}"
