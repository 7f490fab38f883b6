"""`basb-baseline` as a process (its exit status), and baseline files under concurrent writer processes."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pytest_basb.regression.baseline import read_baseline, update_baseline
from tests.unit.regression.test_baseline import REINDEX, SEARCH, write_env


def test_console_script_runs_and_returns_the_status(tmp_path: Path) -> None:
    write_env(tmp_path, "staging", [SEARCH])
    write_env(tmp_path, "prod", [SEARCH, REINDEX])
    args = ["diff", "--from", "staging", "--to", "prod", "--baseline-dir", str(tmp_path)]
    done = subprocess.run([sys.executable, "-m", "pytest_basb.cli.baseline", *args], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "BREAKING  tool reindex: removed" in done.stdout


def _add_keys(path: str, worker: int) -> None:
    for i in range(25):

        def add(data: dict[str, Any], key: str = f"w{worker}-{i}") -> None:
            data.setdefault("latency", {})[key] = 1

        update_baseline(Path(path), add, environment="e", service="s")


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    """xdist workers recording different checks of one service meet in one file: every write survives."""
    path = tmp_path / "e" / "s.json"
    with ProcessPoolExecutor(max_workers=3) as pool:
        list(pool.map(_add_keys, [str(path)] * 3, range(3)))
    data = read_baseline(path)
    assert data is not None
    assert len(data["latency"]) == 75
