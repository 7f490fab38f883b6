"""The stdio transport of a `Connection`: the server as a process of its own group, its stdout lines
as JSON-RPC messages (size-limited before they are assembled), its stderr kept for diagnostics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from mcp.shared.message import SessionMessage

from pytest_basb.connection.wire import MAX_REPLY_BYTES, oversized_reply, parse_line
from pytest_basb.model.mcp_data import ServiceError
from pytest_basb.targets.stdio_process import Oversized, StdioProcess

if TYPE_CHECKING:
    from pytest_basb.connection.client import Connection

_STDIO_GRACE_S = 1.0  # a server may exit on its own after stdin closes; then its group is killed
_EXIT_WAIT_S = 1.0  # after stdout ends, how long to wait for the server's exit status


@contextlib.asynccontextmanager
async def stdio_streams(connection: Connection) -> AsyncIterator[tuple[Any, Any]]:
    """The server's stdout lines as JSON-RPC messages, size-limited before they are assembled."""
    import tempfile

    connection.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
    endpoint = connection.endpoint
    try:
        process = await StdioProcess.spawn(
            endpoint.command,
            env=dict(endpoint.env),
            cwd=endpoint.cwd,
            stderr=connection.stderr,
            registry=connection.runtime.registry,
        )
    except OSError as exc:
        raise ServiceError(f"cannot start {endpoint.command[0]}: {exc.strerror or exc}", kind="connect") from None
    connection.process = process
    to_client, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    to_server, from_client = anyio.create_memory_object_stream[SessionMessage](16)
    closing, drained = anyio.Event(), anyio.Event()

    async def read() -> None:
        try:
            async with to_client:
                await read_lines()
        finally:
            drained.set()

    async def read_lines() -> None:
        async for line in process.lines(MAX_REPLY_BYTES):
            if closing.is_set():  # nobody reads replies any more: what comes now is judged at exit
                _note_exit_output(connection, line)
            elif isinstance(line, Oversized):
                await to_client.send(oversized_reply(line.size, line.head))
            elif line.strip():
                await to_client.send(parse_line(line))
        # stdout ended: if the server exited on its own, its exit status is the news
        with anyio.move_on_after(_EXIT_WAIT_S):
            connection.exit_status = await process.process.wait()

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
                closing.set()
                await process.stop(_STDIO_GRACE_S)
                with anyio.move_on_after(_EXIT_WAIT_S):  # what it printed on the way out, to its end
                    await drained.wait()
                tg.cancel_scope.cancel()
    finally:
        process.kill()


def _note_exit_output(connection: Connection, line: bytes | Oversized) -> None:
    """Keep a line the server wrote while its session closed, if it was not JSON-RPC (a shutdown
    print() corrupts the stream of a client that is still reading)."""
    if isinstance(line, Oversized):
        connection.exit_output_bytes += line.size
        connection.exit_output.append(line.head.decode("utf-8", "replace"))
    elif line.strip() and isinstance(parse_line(line), Exception):
        connection.exit_output_bytes += len(line)
        connection.exit_output.append(line.decode("utf-8", "replace").rstrip("\r\n"))
