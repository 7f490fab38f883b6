"""Baseline files: `<baseline dir>/<env>/<service>.json`, read, and written atomically in stable order.

A baseline is reviewed in git, so it is written with sorted keys and two-space indents, and a
record never leaves a half-written file: each update takes an exclusive lock on the environment's
folder (xdist workers recording different checks of one service may meet here), reads the file,
changes its own section, writes a temporary file beside it and renames it over the old one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_basb.model.files import atomic_write

FORMAT_VERSION = 1
DEFAULT_DIR = "baselines"


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file and what to do."""


def baseline_path(directory: Path, environment: str, service: str) -> Path:
    return directory / environment / f"{service}.json"


def dumps(data: Any) -> str:
    """The file format: sorted keys, two-space indent, UTF-8 kept, newline at the end."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_baseline(path: Path) -> dict[str, Any] | None:
    """The baseline at `path`, or None when there is none."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise BaselineError(
            f"{path}: not UTF-8 text (byte {exc.start}); record it again with --basb-record-baseline"
        ) from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read ({exc.strerror or exc}); it must be a baseline file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix it or record it again with --basb-record-baseline"
        ) from None
    except RecursionError:
        raise BaselineError(
            f"{path}: nested too deeply to be a baseline; record it again with --basb-record-baseline"
        ) from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise BaselineError(
            f"{path}: not a pytest-basb baseline of format version {FORMAT_VERSION}; "
            "record it again with --basb-record-baseline"
        )
    return data


def update_baseline(path: Path, change: Callable[[dict[str, Any]], None], *, environment: str, service: str) -> None:
    """Apply `change` to the baseline at `path` (created if missing) and write it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent):
        try:
            data = read_baseline(path) or {}
        except BaselineError:
            data = {}  # recording replaces a broken file
        data.update({"version": FORMAT_VERSION, "environment": environment, "service": service})
        change(data)
        atomic_write(path, dumps(data))


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def record_command(environment: str, *, inventory: str | None, baseline_dir: str | None) -> str:
    """The exact command that records the baselines of `environment` (quoted for a POSIX shell)."""
    parts = ["pytest", f"--basb-env={environment}", "-m", "regression", "--basb-record-baseline"]
    if inventory is not None:
        parts.append(f"--basb-inventory={inventory}")
    if baseline_dir is not None:
        parts.append(f"--basb-baseline-dir={baseline_dir}")
    return shlex.join(parts)
