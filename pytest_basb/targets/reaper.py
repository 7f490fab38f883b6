"""Every process the gate starts is written down, so nothing outlives the run.

Servers run in process groups of their own (a terminal's Ctrl-C must not reach them before the gate
has decided what to do). Each one is registered as a file `<run_dir>/procs/<pgid>`, and xdist workers
register themselves under `<run_dir>/workers/<pid>`. Whoever ends the run — a clean close, Ctrl-C, or
the controller after a worker died — can then kill what is left, including a dead worker's servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

_PROCS = "procs"
_WORKERS = "workers"


class ProcessRegistry:
    """Process groups started by this run, as files under the run folder (shared by all workers)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def add_group(self, pgid: int) -> None:
        _touch(self.run_dir / _PROCS, pgid)

    def remove_group(self, pgid: int) -> None:
        with contextlib.suppress(OSError):
            (self.run_dir / _PROCS / str(pgid)).unlink()

    def add_worker(self, pid: int) -> None:
        _touch(self.run_dir / _WORKERS, pid)

    def groups(self) -> list[int]:
        return _ids(self.run_dir / _PROCS)

    def workers(self) -> list[int]:
        return [pid for pid in _ids(self.run_dir / _WORKERS) if pid != os.getpid()]

    def kill_groups(self) -> int:
        """SIGKILL every registered group still alive; returns how many were signalled."""
        killed = 0
        for pgid in self.groups():
            if kill_group(pgid, signal.SIGKILL):
                killed += 1
            self.remove_group(pgid)
        return killed


def kill_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal a whole process group: a server's own children must not outlive it."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _touch(folder: Path, number: int) -> None:
    with contextlib.suppress(OSError):
        folder.mkdir(exist_ok=True)
        (folder / str(number)).touch()


def _ids(folder: Path) -> list[int]:
    with contextlib.suppress(OSError):
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    return []
