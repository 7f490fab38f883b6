"""The gate works from a venv that is not activated: its own stdio servers start with the interpreter
running pytest, and the venv's console scripts are found without PATH."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_basb.inventory.load import load_environment
from tests.helpers import GOOD_SERVER, Gate

MINIMAL_PATH = "/usr/bin:/bin"  # what a cron job or a CI step without `activate` has


def _command_of(tmp_path: Path, command: list[str]) -> tuple[str, ...]:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  e:\n    services:\n"
        f"      s: {{transport: stdio, command: {json.dumps(command)}}}\n"
    )
    return load_environment(path, "e", environ={}).services[0].command


def test_a_python_script_and_a_console_script_of_the_venv_need_no_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", MINIMAL_PATH)
    assert _command_of(tmp_path, ["tools/server.py", "--stdio"]) == (sys.executable, "tools/server.py", "--stdio")
    venv_script = Path(sys.executable).parent / "basb-baseline"
    assert venv_script.is_file(), "the dev install provides the basb-baseline console script"
    assert _command_of(tmp_path, ["basb-baseline", "diff"]) == (str(venv_script), "diff")
    # A program that PATH does find stays as it is (the team's choice).
    assert _command_of(tmp_path, ["env", "X=1"]) == ("env", "X=1")


def test_the_gate_runs_its_stdio_servers_with_a_minimal_path(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", MINIMAL_PATH)
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit: {{transport: stdio, timeout_s: 30, command: ["{GOOD_SERVER}"]}}
    """)
    result = gate.run_subprocess("-m", "health")
    assert result.ret == 0, result.stdout.str()[-2000:]
