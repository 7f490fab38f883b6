"""The per-process event loop thread that owns every MCP connection of the process.

The test thread waits on the loop in short slices, so Ctrl-C is honoured at once, and signals are
blocked in the loop thread so the kernel always delivers them to the thread that can act on them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal, start_blocking_portal

from pytest_basb.connection.client import Connection
from pytest_basb.connection.http_pools import OriginPools
from pytest_basb.connection.wire import Transcript
from pytest_basb.targets.base import Endpoint

if TYPE_CHECKING:
    from pytest_basb.targets.reaper import ProcessRegistry

T = TypeVar("T")

PREFETCH_CONCURRENCY = 32  # connections opening at once (stdio servers are processes: bounded)
WAIT_SLICE_S = 0.1  # the test thread wakes this often, so a pending Ctrl-C is raised
_CLOSE_BUDGET_S = 5.0  # all connections together, after which the rest is cancelled


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
            self._portal.call(block_signals_in_this_thread)
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
                concurrent.futures.wait([future], timeout=WAIT_SLICE_S)
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
        connections = list(connections)
        pending = [c for c in connections if not c.started]
        unlisted = [c for c in connections if prefetch and c.started and not c.listed and c.failure is None]
        if not pending and not unlisted:
            return

        async def open_each() -> None:
            async with anyio.create_task_group() as tg:
                for connection in pending:
                    tg.start_soon(connection.open, prefetch)
                for connection in unlisted:  # open already (asked for its name): list it now
                    tg.start_soon(connection.prefetch_now)

        self.call(open_each)

    def close(self, *, fast: bool = False) -> None:
        """Close every connection at once (in parallel); `fast` kills servers without a grace period."""
        connections, self._connections = self._connections, []
        interrupt: BaseException | None = None  # a Ctrl-C/SIGTERM during the close: honoured after it
        if self._portal is not None:
            if fast:
                for connection in connections:
                    connection.kill()
            try:
                self._portal.call(self._close_all, connections, fast)
            except KeyboardInterrupt as exc:
                interrupt = exc
                for connection in connections:
                    connection.kill()
            except Exception:  # a server that fails while closing: it is killed below
                pass
            try:
                assert self._portal_cm is not None
                self._portal_cm.__exit__(None, None, None)
            except KeyboardInterrupt as exc:
                interrupt = interrupt or exc
            except Exception:  # the loop thread's own end: nothing left to save
                pass
        for connection in connections:
            connection.kill()  # whatever survived the close (a cancelled owner) dies now
            connection.release()
        self._portal_cm = None
        self._portal = None
        if interrupt is not None:
            raise interrupt

    def discard(self, connection: Connection, *, kill: bool, grace_s: float = 2.0) -> None:
        """Close one connection for good (a drill replaces a session): `kill` its server process first
        (a stdio server that was made to hang); whatever is left after `grace_s` is cancelled."""
        if kill:
            connection.kill()

        async def close() -> None:
            with anyio.move_on_after(grace_s):
                await connection.close()
            connection.cancel()

        if self._portal is not None and connection.started:
            self.call(close)
        connection.kill()
        connection.release()
        if connection in self._connections:
            self._connections.remove(connection)

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


def block_signals_in_this_thread() -> None:
    # Process-directed signals (Ctrl-C) then go to the test thread, which can act on them.
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
