"""The DevOps log's lock never costs a run its entry: a lock nobody will release is taken over, loudly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from pytest_basb.obsidian.note import file_lock


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
