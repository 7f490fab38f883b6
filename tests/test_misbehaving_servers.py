"""Hostile servers fail their own checks within the deadline; the gate neither hangs nor leaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GOOD_SERVER, ROGUE_SERVER, SUITES, Gate, pid_alive

DEADLINE = "--basb-timeout=2"
DEADLINE_HUGE = "--basb-timeout=10"


def rogue_inventory(mode: str, pid_file: Path) -> str:
    return f"""
    version: 1
    environments:
      t:
        services:
          good: {{transport: stdio, command: ["python", "{GOOD_SERVER}"]}}
          rogue:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "{mode}", "--pid-file", "{pid_file}"]
            smoke: [{{tool: echo, arguments: {{text: hi}}}}]
    """


def outcomes(gate: Gate, service: str) -> dict[str, tuple[str, str]]:
    data = json.loads((gate.report_dir / "gate.json").read_text())
    return {c["id"]: (c["outcome"], c["message"] or "") for c in data["checks"] if c["service"] == service}


# mode -> (check id that must fail, words its message must contain)
CASES = {
    "hang-handshake": ("health.handshake", "no handshake within 2s"),
    "hang-call": ("smoke.call", "no answer within 2s"),
    "garbage": ("health.stdio_hygiene", "not JSON-RPC"),
    "crash-call": ("smoke.call", "connection closed"),  # plus the server's stderr tail
    # 20 MB: refused for its size (the SDK's stdio line reader needs ~3 s for it, hence DEADLINE_HUGE).
    "huge": ("smoke.call", "bytes refused"),
}


@pytest.mark.parametrize("mode", sorted(CASES))
def test_misbehaving_server_fails_only_its_own_checks(
    gate: Gate, mode: str, pid_file: Path, assert_no_leaks: Callable[[Path], None]
) -> None:
    gate.write(rogue_inventory(mode, pid_file))
    started = time.monotonic()
    # Not the security suite: its malformed calls would meet the fault before smoke.call does.
    result = gate.run_subprocess(DEADLINE_HUGE if mode == "huge" else DEADLINE, "-m", "not security", timeout=90)
    elapsed = time.monotonic() - started
    assert result.ret == 1
    check_id, words = CASES[mode]
    outcome, message = outcomes(gate, "rogue")[check_id]
    assert outcome == "fail", (check_id, outcome, message)
    assert words.lower() in message.lower(), message
    if mode == "crash-call":
        assert "server stderr" in message  # what the server said before dying is shown
    good = outcomes(gate, "good")
    assert all(o in ("pass", "warn", "skip") for o, _ in good.values()), good
    assert elapsed < 60, f"a hostile server made the run take {elapsed:.0f}s"
    assert_no_leaks(pid_file)


def test_sigterm_ignoring_server_and_grandchildren_are_killed(
    gate: Gate, tmp_path: Path, assert_no_leaks: Callable[[Path], None]
) -> None:
    stubborn, parent = tmp_path / "stubborn.pid", tmp_path / "parent.pid"
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          stubborn:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "ignore-sigterm", "--pid-file", "{stubborn}"]
          parent:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "spawn-child", "--pid-file", "{parent}"]
    """)
    result = gate.run_subprocess("-m", "health", DEADLINE, timeout=90)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert_no_leaks(stubborn)
    assert_no_leaks(parent)  # the file holds the server's and its grandchild's pids


def test_ctrl_c_leaves_no_process_behind(gate: Gate, pid_file: Path) -> None:
    gate.write(rogue_inventory("hang-call", pid_file))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *gate.args("--basb-timeout=60", "-k", "declared_call")],
        cwd=gate.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid_file.exists(), "the rogue server never started"
    time.sleep(1.0)  # let the hanging tools/call be in flight
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()[-2000:]
    server_pid = int(pid_file.read_text().split()[0])
    for _ in range(50):
        if not pid_alive(server_pid):
            break
        time.sleep(0.1)
    assert not pid_alive(server_pid), "the server outlived Ctrl-C"
    assert str(SUITES)  # the run really used the repository's suites
