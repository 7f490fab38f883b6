"""A stdio MCP server as a child process: spawn, bounded line reading, writing, a quick stop.

The SDK's stdio transport assembles each stdout line in full before anything can judge it (a 50 MiB
line costs seconds of CPU, quadratically) and waits 2 s + 2 s before it kills a server. The gate
needs neither: lines over the limit are counted and dropped as they arrive, and a server is given
a short grace after stdin closes, then its whole process group is killed. No `mcp` import here;
`connection/wire.py` turns lines into JSON-RPC messages.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio
from anyio.abc import Process

from pytest_basb.targets.process_env import launch_environment
from pytest_basb.targets.reaper import ProcessRegistry, kill_group

_CHUNK = 256 * 1024
_HEAD = 512  # bytes kept of an oversized line: enough to find its JSON-RPC id


@contextlib.contextmanager
def signals_deliverable() -> Iterator[None]:
    """The event loop thread blocks SIGINT/SIGTERM (runtime.py), and a child inherits the signal mask:
    unblocked while spawning, a server stops on SIGTERM like anywhere else (a drill sends it one)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@dataclass(frozen=True)
class Oversized:
    """A stdout line longer than the limit: its size and first bytes, never its whole text."""

    size: int
    head: bytes


class StdioProcess:
    """One server process in its own process group, registered for the reaper."""

    def __init__(self, process: Process, registry: ProcessRegistry | None) -> None:
        self.process = process
        self._registry = registry
        self._stopped = False

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        stderr: IO[str],
        registry: ProcessRegistry | None,
    ) -> StdioProcess:
        with signals_deliverable():
            process = await anyio.open_process(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=cwd,
                env=launch_environment(env),
                start_new_session=True,
            )
        if registry is not None:
            registry.add_group(process.pid)
        return cls(process, registry)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def lines(self, limit: int) -> AsyncIterator[bytes | Oversized]:
        """Yield stdout line by line; a line over `limit` bytes becomes an `Oversized`."""
        stdout = self.process.stdout
        assert stdout is not None
        parts: list[bytes] = []
        size = 0
        head = b""
        with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            while True:
                chunk = await stdout.receive(_CHUNK)
                start = 0
                while (end := chunk.find(b"\n", start)) != -1:
                    piece = chunk[start:end]
                    size += len(piece)
                    if size > limit:
                        yield Oversized(size, (head or piece)[:_HEAD])
                    elif parts:
                        parts.append(piece)
                        yield b"".join(parts)
                    else:
                        yield piece
                    parts, size, head = [], 0, b""
                    start = end + 1
                rest = chunk[start:]
                if not rest:
                    continue
                if size <= limit:
                    if not parts:
                        head = rest[:_HEAD]
                    parts.append(rest)
                size += len(rest)
                if size > limit:
                    parts = []  # keep counting, stop keeping

    async def send(self, data: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        await stdin.send(data)

    async def stop(self, grace_s: float) -> None:
        """Close stdin, let the server exit within `grace_s`, then kill its whole group."""
        if self._stopped:
            return
        self._stopped = True
        with anyio.CancelScope(shield=True):
            if grace_s > 0 and self.process.stdin is not None:
                with contextlib.suppress(Exception):
                    await self.process.stdin.aclose()
                with anyio.move_on_after(grace_s):
                    await self.process.wait()
            self.kill()
            with anyio.move_on_after(2.0):
                await self.process.wait()
            with contextlib.suppress(Exception):
                await self.process.aclose()

    def kill(self) -> None:
        """SIGKILL the group now (also its children); safe to call from any thread, any time."""
        kill_group(self.process.pid, signal.SIGKILL)
        if self._registry is not None:
            self._registry.remove_group(self.process.pid)
