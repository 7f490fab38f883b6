"""`basb-log` run as a process: its errors end it with exit 2 and a clear message."""

from __future__ import annotations

import subprocess
import sys


def test_cli_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_basb.cli.log", "weekly", "--vault", "/nonexistent/vault"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "vault directory not found: /nonexistent/vault" in proc.stderr
