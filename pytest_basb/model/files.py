"""Writing a file whole or not at all: readers (other processes, Obsidian, CI) never see half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

REPORT_MODE = 0o644  # reports, logs and baselines are read by the team: never mkstemp's 0600


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: str | bytes, *, durable: bool = True) -> Path:
    """Write `data` via a temporary file in the same folder, fsync it, then rename it over `path`.

    The file gets the usual mode (0644 under the usual umask). Text is written as UTF-8 with "\\n"
    line ends. `durable=False` skips the fsync, for files that live only as long as the run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def publish_json(path: Path, data: object) -> None:
    """Share `data` with the other processes of this run through the run folder (written whole)."""
    atomic_write(path, json.dumps(data), durable=False)


def append_line(path: Path, line: str) -> Path:
    """Append one line to a ledger (created 0644 under the usual umask) with a single write, so
    concurrent writers never interleave inside a line and a reader sees whole lines only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666 & ~_umask())
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path
