"""Locks between gate runs on one machine: an `flock` on a file in the user's temp folder.

The kernel drops an flock when its holder exits, SIGKILL included: no lock outlives its run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_POLL_S = 0.05


def lock_folder() -> Path:
    """Per user (another user's lock files could not be opened for writing)."""
    folder = Path(tempfile.gettempdir()) / f"basb-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@contextlib.contextmanager
def exclusive(key: str, timeout_s: float = 60.0) -> Iterator[None]:
    """Wait until no other run holds `key`; after `timeout_s` go on with a warning (a hung run must not
    stop this one from reporting)."""
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    fd = os.open(lock_folder() / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    print(f"pytest-basb: another run held {key} for {timeout_s:g} s; going on", file=sys.stderr)
                    break
                time.sleep(_POLL_S)
        yield
    finally:
        os.close(fd)
