"""The DevOps log's lock never costs a run its entry: a lock nobody will release is taken over, loudly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_basb.obsidian.daily import daily_log_path, read_daily_log, write_daily_log
from pytest_basb.obsidian.note import file_lock
from tests.report.test_obsidian import run_report

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


def test_a_live_writer_is_waited_for_then_taken_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    note = tmp_path / "note.md"
    lock = note.with_name(f".{note.name}.lock")
    lock.write_text(f"{os.getpid()} {socket.gethostname()}")  # alive (this process) and fresh
    with file_lock(note, timeout_s=0.3):
        assert lock.read_text() == f"{os.getpid()} {socket.gethostname()}"
    assert "still held after the wait" in capsys.readouterr().err
    assert not lock.exists()


def test_an_unheld_lock_is_silent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    note = tmp_path / "note.md"
    with file_lock(note):
        assert note.with_name(".note.md.lock").exists()
    assert capsys.readouterr().err == ""
