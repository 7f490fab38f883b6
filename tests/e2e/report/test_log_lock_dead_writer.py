"""A DevOps log lock whose writer process is gone (a killed run) is taken over at once and the
entry written: the dead writer is a real process that exited."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_basb.obsidian.daily import daily_log_path, read_daily_log, write_daily_log
from tests.unit.obsidian.runs import run_report

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_lock_left_by_a_killed_run_is_taken_over_and_the_entry_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    note = daily_log_path(vault, AT.date())
    note.parent.mkdir(parents=True)
    lock = note.with_name(f".{note.name}.lock")
    pid = dead_pid()
    lock.write_text(f"{pid} {socket.gethostname()}")  # fresh: only its dead owner says it is stale
    written = write_daily_log(run_report(at=AT), vault=vault, report_paths=[], runbooks_dir=None, now=AT)
    _front, runs = read_daily_log(written)
    assert len(runs) == 1  # the entry was written, not dropped
    assert not lock.exists()
    assert f"its writer, process {pid}, is gone" in capsys.readouterr().err
