"""Ctrl-C: the run ends within seconds whatever is in flight, and no server outlives it.

pytest turns the first Ctrl-C into KeyboardInterrupt and then runs its session-finish hooks; this
module makes those fast: servers are killed without a grace period, xdist workers (which a plain
`kill -INT` of the controller does not reach) are interrupted too and killed if they do not stop,
and a second Ctrl-C kills what is left and exits at once with pytest's "interrupted" code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import pytest

from pytest_basb.targets.reaper import ProcessRegistry

if TYPE_CHECKING:
    from pytest_basb.run.state import BasbState

_WORKER_GRACE_S = 1.5  # for workers to close their own sessions before they are killed


def install_second_interrupt(state: BasbState) -> Callable[[], None]:
    """From the start of the run: a Ctrl-C (or SIGTERM) while the first one is being handled ends it at once.

    Returns the function that puts the previous handler back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    # SIGTERM (what CI runners send on cancel) is handled as Ctrl-C: same clean end, same exit code.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.finished:
            # The verdict is written and every server stopped: pytest only tidies up now, outside
            # any handler of KeyboardInterrupt. The run ends as it is (no traceback).
            print("pytest-basb: interrupt after the run finished: its verdict stands", file=sys.stderr)
            return
        if not state.interrupted:
            state.interrupted = True
            if state.finishing:
                # pytest's own session-end hooks run now, outside any handler of KeyboardInterrupt:
                # stop the servers here and let the run's end write "interrupted" (exit 2).
                _kill_own(state)
                return
            raise KeyboardInterrupt
        _kill_own(state)
        if state.run_dir is not None:
            registry = ProcessRegistry(state.run_dir)
            for pid in registry.workers():
                _signal(pid, signal.SIGKILL)
            registry.kill_groups()
        os._exit(int(pytest.ExitCode.INTERRUPTED))

    def restore() -> None:
        for sig, before in previous.items():
            signal.signal(sig, before)

    for sig in previous:
        signal.signal(sig, handler)
    return restore


def on_interrupt(state: BasbState | None) -> None:
    """pytest caught the first Ctrl-C: kill this process's servers (and the workers' ones) now."""
    if state is None or not state.active:
        return
    state.interrupted = True
    _kill_own(state)
    if state.run_dir is not None and state.controller:
        registry = ProcessRegistry(state.run_dir)
        _stop_workers(registry)
        registry.kill_groups()


def _kill_own(state: BasbState) -> None:
    if state.runtime is not None:
        state.runtime.kill_now()
    if state.launcher is not None:
        state.launcher.stop(grace_s=0.0)
    if state.containers is not None:
        state.containers.stop()  # removes them in parallel (kill + remove)


def _stop_workers(registry: ProcessRegistry) -> None:
    workers = registry.workers()
    for pid in workers:
        _signal(pid, signal.SIGINT)
    deadline = time.monotonic() + _WORKER_GRACE_S
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    for pid in workers:
        if _running(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited worker stays a zombie until xdist reaps it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z"
