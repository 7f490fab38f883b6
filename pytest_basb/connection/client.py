"""One MCP session to one service (`Connection`): its transport (stdio, streamable HTTP, SSE), its
life cycle and deadlines, and the message a failure carries.

Every service gets one `Connection`, whose owner task holds the `mcp.Client` context for its whole
life (open and close in the same task, as anyio requires), on the process's event loop
(`runtime.py`). Connections open concurrently (bounded) when the run starts and fetch their
listings at once (prefetch); checks then judge cached data. The requests themselves are in
`requests.py`, the recording of the wire in `wire.py`.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.abc
import httpx2
import mcp_types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from pytest_basb.connection import event_limit
from pytest_basb.connection.auth_explain import RejectionWatch, explained
from pytest_basb.connection.http_pools import LentPools, OriginPools
from pytest_basb.connection.requests import (
    LISTINGS,
    OPERATIONS,
    describe_exc,
    describe_handshake,
    list_all,
    request_label,
)
from pytest_basb.connection.speculation import Speculation
from pytest_basb.connection.stdio_streams import stdio_streams
from pytest_basb.connection.wire import (
    MAX_REPLY_BYTES,
    OVERSIZED_CODE,
    RecordingTransport,
    Transcript,
)
from pytest_basb.model.mcp_data import Handshake, ServiceError
from pytest_basb.model.version import __version__
from pytest_basb.targets.base import Endpoint
from pytest_basb.targets.stdio_process import StdioProcess

if TYPE_CHECKING:
    from pytest_basb.connection.runtime import McpRuntime

    pass

T = TypeVar("T")
# The HTTP transports' limit on one SSE event (the SDK's is 1 MiB): a little above the reply limit,
# so the gate's own refusal ("reply of N bytes refused") decides, and memory stays bounded.
SSE_EVENT_LIMIT = MAX_REPLY_BYTES + 1024 * 1024

_CLOSED_STAND_IN = "Connection closed"  # the SDK's words when the transport ended (JSON-RPC -32000)
# Failures after which a session is not asked again: its later checks cite the first one.
BREAKING = frozenset({"timeout", "closed", "oversized", "connect"})


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
        self.listed = False  # the prefetch of the listings ran (a session can open without it)
        # Requests the checks will make, sent during the prefetch (see speculation.py), and answers.
        self.speculate: Callable[[str, dict[str, list[dict[str, Any]]]], list[Speculation]] | None = None
        self._speculated: dict[tuple[str, str, str], deque[tuple[Any, float]]] = {}
        self.runtime = runtime
        self._client: Client | None = None
        self.process: StdioProcess | None = None
        self._scope: anyio.CancelScope | None = None
        self._closing: anyio.Event | None = None
        self._done: anyio.Event | None = None
        self._auth_watch = RejectionWatch()  # remembers a 401/403 or an HTTP error, so the failure can say so
        self.exit_status: int | None = None  # a stdio server's, when it exited on its own
        # A stdio server's stdout lines that were not JSON-RPC, written once the session was closing.
        self.exit_output: list[str] = []
        self.exit_output_bytes = 0

    # -- life cycle (loop thread) ----------------------------------------------------------

    async def open(self, prefetch: bool) -> None:
        """Start the owner task and wait until the session is ready, or failed, or out of time."""
        self.started = True
        self._closing, self._done, self._scope = anyio.Event(), anyio.Event(), anyio.CancelScope()
        ready, admitted, prefetched = anyio.Event(), anyio.Event(), anyio.Event()
        self.runtime.start_owner(self._own, ready, admitted, prefetched, prefetch)
        await admitted.wait()  # time spent waiting for a free slot is not the server's
        with anyio.move_on_after(self.timeout_s):
            await ready.wait()
        if self.handshake is None and self.failure is None:
            self.failure = ServiceError(self._explain(self._no_handshake()), kind="timeout")
            self.cancel()
            self.kill()
        await prefetched.wait()

    async def _own(self, ready: anyio.Event, admitted: anyio.Event, prefetched: anyio.Event, prefetch: bool) -> None:
        """Open the client, hold it until asked to close, and close it from this same task."""
        assert self._closing is not None
        assert self._done is not None
        assert self._scope is not None
        slots = self.runtime.opening_slots()
        holding = False
        try:
            with self._scope:
                await slots.acquire()
                holding = True
                admitted.set()
                started = time.perf_counter()
                client = Client(
                    RecordingTransport(self._transport(), self.transcript),
                    mode="auto",
                    read_timeout_seconds=self.timeout_s,
                    client_info=mcp_types.Implementation(name="pytest-basb", version=__version__),
                    cache=None,  # the gate must see the server's real answers, not a client cache
                )
                async with client:
                    self._client = client
                    self.handshake = describe_handshake(client, time.perf_counter() - started)
                    ready.set()
                    if prefetch:
                        await self._prefetch(client)
                    prefetched.set()
                    slots.release()
                    holding = False
                    await self._closing.wait()
        except Exception as exc:
            if self.handshake is None and self.failure is None:
                failed = explained(self._auth_watch, describe_exc(exc, "the handshake"))
                if self.exit_status is not None and _CLOSED_STAND_IN in failed:  # says more than "connection closed"
                    failed = f"the server exited with status {self.exit_status} before it answered the handshake"
                self.failure = ServiceError(self._explain(f"connect failed: {failed}"), kind="connect")
        finally:
            self._client = None
            if holding:
                slots.release()
            for event in (admitted, ready, prefetched, self._done):
                event.set()

    async def prefetch_now(self) -> None:
        """The prefetch of a session opened without it (a zero-config run asked the server's name)."""
        if self._client is not None and self.handshake is not None and not self.listed:
            await self._prefetch(self._client)

    async def _prefetch(self, client: Client) -> None:
        """Fetch every listing the server declares, each under the deadline; errors are kept."""
        assert self.handshake is not None
        self.listed = True
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
            what = request_label(op)
            try:
                with anyio.fail_after(self.timeout_s):
                    result: Any = await OPERATIONS[op.operation](client, *op.args)
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
            return stdio_streams(self)
        assert endpoint.url is not None
        if endpoint.transport == "sse":
            return event_limit.sse_client(
                endpoint.url,
                max_event_size=SSE_EVENT_LIMIT,
                headers=dict(endpoint.headers),
                timeout=self.timeout_s,
                auth=self._auth_watch,
            )
        return _streamable_http(endpoint.url, dict(endpoint.headers), self.runtime.http_pools(), self._auth_watch)

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._done is not None:
            await self._done.wait()

    def cancel(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def release(self) -> None:
        if self.stderr is not None:
            with contextlib.suppress(Exception):
                self.stderr.close()

    # -- requests (test thread) ------------------------------------------------------------

    def run(self, what: str, operation: Callable[..., Awaitable[T]], *args: Any, within_s: float | None = None) -> T:
        """Run one MCP operation under the deadline (`within_s`: a shorter one, for a drill's polling);
        errors become `ServiceError` with context."""
        client = self._client
        if client is None:
            raise ServiceError(self._explain(f"{what}: the session is closed"), kind="closed")
        deadline = self.timeout_s if within_s is None else within_s
        try:
            result: T = self.runtime.call(self._with_deadline, deadline, operation, client, *args)
            return result
        except TimeoutError:
            raise ServiceError(self._explain(f"{what}: no answer within {deadline:g}s"), kind="timeout") from None
        except (MCPError, anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise self.error_for(what, exc) from None

    async def _with_deadline(
        self, deadline: float, operation: Callable[..., Awaitable[T]], client: Client, *args: Any
    ) -> T:
        with anyio.fail_after(deadline):
            return await operation(client, *args)

    def error_for(self, what: str, exc: BaseException) -> ServiceError:
        if isinstance(exc, ServiceError):
            return exc
        if isinstance(exc, MCPError):
            code = exc.error.code if exc.error is not None else None
            kind = {
                OVERSIZED_CODE: "oversized",
                mcp_types.CONNECTION_CLOSED: "closed",
                mcp_types.REQUEST_TIMEOUT: "timeout",
            }.get(code or 0, "protocol")
            return ServiceError(self._explain(f"{what}: {explained(self._auth_watch, describe_exc(exc))}"), kind=kind)
        if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream):
            return ServiceError(self._explain(f"{what}: connection lost ({type(exc).__name__})"), kind="closed")
        return ServiceError(self._explain(f"{what}: {describe_exc(exc)}"), kind="protocol")

    # -- diagnostics ------------------------------------------------------------------------

    @property
    def says_sse(self) -> bool:
        """A streamable-HTTP POST answered 404 or 405: the URL may be an SSE endpoint."""
        answer = self._auth_watch.last_error
        return answer is not None and answer.method == "POST" and answer.status in (404, 405)

    def _no_handshake(self) -> str:
        """Why the handshake ran out of time: a server still starting (nothing on stdout yet) needs more."""
        silent = not any(m["dir"] == "in" for m in self.transcript.messages)
        raise_it = "raise timeout_s in the inventory (or --basb-timeout)"
        if self.endpoint.transport == "stdio" and silent and self.exit_status is None:
            return f"no handshake: still starting after {self.timeout_s:g} s: {raise_it}"
        if silent and self.endpoint.transport != "stdio":
            return f"no answer to the handshake within {self.timeout_s:g} s ({raise_it} if the server is slow)"
        return f"no handshake within {self.timeout_s:g} s ({raise_it} if the server is slow)"

    def stderr_tail(self, lines: int = 8) -> str:
        """The server's last non-blank stderr lines, and its first error line (the root cause is rarely last)."""
        return stderr_tail(self.stderr, self.transcript, lines)

    def _explain(self, what: str) -> str:
        return explain(self.endpoint, self.transcript, self.stderr_tail(), what)


# -- operations on an open client (loop thread) ---------------------------------------------


# -- transports ------------------------------------------------------------------------------


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


def stderr_tail(stderr: IO[str] | None, transcript: Transcript, lines: int) -> str:
    """The last meaningful lines a stdio server wrote to stderr, redacted ("" when none)."""
    if stderr is None or stderr.closed:
        return ""
    with contextlib.suppress(Exception):
        stderr.flush()
        stderr.seek(0)
        text = stderr.read()[-8000:]
        from pytest_basb.connection.stderr_lines import meaningful_lines

        return transcript.redactor.text("\n".join(meaningful_lines(text, lines)))
    return ""


def explain(endpoint: Endpoint, transcript: Transcript, tail: str, what: str) -> str:
    """A failure's message: the service and where it was reached, what failed, stray output, stderr."""
    parts = [f"{endpoint.service_id} ({endpoint.display}): {what}"]
    if transcript.anomalies:
        parts.append("transport anomalies: " + "; ".join(transcript.anomalies[:3]))
    if tail:
        parts.append("server stderr (last lines):\n" + tail)
    return transcript.redactor.text("\n".join(parts))
