"""Every process the gate starts is written down, so nothing outlives the run.

Servers run in process groups of their own (a terminal's Ctrl-C must not reach them before the gate
has decided what to do). Each one is registered as a file `<run_dir>/procs/<pgid>`, and xdist workers
register themselves under `<run_dir>/workers/<pid>`. Whoever ends the run — a clean close, Ctrl-C, or
the controller after a worker died — can then kill what is left, including a dead worker's servers.
The run folder also names its owner (`owner`: pid and start time), so a run killed with SIGKILL,
which could clean nothing, is cleaned by the next run (`reap_dead_runs`): its servers and folder,
the throwaway vault copy inside it included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

_PROCS = "procs"
_WORKERS = "workers"
_OWNER = "owner"
RUN_PREFIX = "basb-run-"


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


def mark_owner(run_dir: Path) -> None:
    """Write down this process as the run folder's owner (the controller of the run)."""
    with contextlib.suppress(OSError):
        (run_dir / _OWNER).write_text(f"{os.getpid()} {_start_time(os.getpid())}")


def reap_dead_runs(parent: Path, *, keep: Path | None = None) -> list[str]:
    """Kill the servers and remove the folders of runs under `parent` whose owner is gone.

    Returns one line per run cleaned up, for the terminal.
    """
    cleaned: list[str] = []
    with contextlib.suppress(OSError):
        for run_dir in sorted(parent.glob(f"{RUN_PREFIX}*")):
            if run_dir == keep or not run_dir.is_dir() or _owner_alive(run_dir):
                continue
            killed = ProcessRegistry(run_dir).kill_groups()
            for pid in ProcessRegistry(run_dir).workers():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(run_dir, ignore_errors=True)
            cleaned.append(f"{run_dir.name}: {killed} server group(s) killed, run folder and vault copy removed")
    return cleaned


def _owner_alive(run_dir: Path) -> bool:
    """True while the run's owner runs, and for folders without an owner (an older version's, or one
    being created this instant): only a run known to be dead is reaped."""
    try:
        pid_text, _, started = (run_dir / _OWNER).read_text().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return True
    return _start_time(pid) == started  # a reused pid has another start time


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when it is gone or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] == "Z" else fields[19]
