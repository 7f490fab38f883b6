"""Shared by the benchmarks: wall time of one child process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def timed(argv: list[str], cwd: Path) -> float:
    """Seconds one run of `argv` takes, output discarded; a failing run aborts the benchmark."""
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started
