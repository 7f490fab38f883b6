"""Hostile servers fail their own checks, once each; the gate neither hangs nor leaks; Ctrl-C is obeyed.

The rogue server is standard library only and starts at once, so a 3 s deadline is realistic for
it; the healthy server imports `mcp` (up to 2 s on a busy machine) and gets 30 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, ROGUE_SERVER, Gate, pid_alive

ROGUE_DEADLINE_S = 3

# mode -> (check id that reports the failure first, words its message must contain)
CASES = {
    "hang-handshake": ("health.handshake", f"still starting after {ROGUE_DEADLINE_S} s: raise timeout_s"),
    "hang-call": ("smoke.call", f"no answer within {ROGUE_DEADLINE_S}s"),
    "garbage": ("health.stdio_hygiene", "not JSON-RPC"),
    "crash-call": ("smoke.call", "connection closed"),  # plus the server's stderr tail
    "huge": ("smoke.call", "bytes refused"),  # 20 MB, refused while it is read
}


def hostile_inventory(tmp: Path, modes: list[str]) -> str:
    services = [f'      good: {{transport: stdio, timeout_s: 30, command: ["python", "{GOOD_SERVER}"]}}']
    for mode in modes:
        argv = ["python", str(ROGUE_SERVER), "--mode", mode, "--pid-file", str(tmp / f"{mode}.pid")]
        argv += ["--method-log", str(tmp / f"{mode}.methods")]
        services.append(
            f"      {mode}: {{transport: stdio, timeout_s: {ROGUE_DEADLINE_S}, command: {json.dumps(argv)},"
            " smoke: [{tool: echo, arguments: {text: hi}}]}"
        )
    return "version: 1\nenvironments:\n  t:\n    services:\n" + "\n".join(services) + "\n"


def checks_of(gate: Gate) -> list[dict[str, str]]:
    data = json.loads((gate.report_dir / "gate.json").read_text())
    checks: list[dict[str, str]] = data["checks"]
    return checks


@pytest.mark.parametrize("workers", ["0", "2"])
def test_hostile_environment_fails_each_rogue_once_and_leaves_nothing(
    gate: Gate, tmp_path: Path, workers: str, assert_no_leaks: Callable[[Path], None]
) -> None:
    modes = sorted(CASES)
    gate.write(hostile_inventory(tmp_path, modes))
    # Not the security suite: its malformed calls would meet the faults before the checks named here.
    # Not the regression suite: no baseline was recorded for these servers (its checks would fail on `good`).
    result = gate.run_subprocess("-n", workers, "-m", "not security and not regression", timeout=180)
    assert result.ret == 1, result.stdout.str()[-3000:]
    checks = checks_of(gate)
    good = [c for c in checks if c["service"] == "good"]
    assert good, "the healthy server was not checked"
    assert all(c["outcome"] in ("pass", "warn", "skip") for c in good), good
    for mode, (check_id, words) in CASES.items():
        mine = [c for c in checks if c["service"] == mode]
        first = next(c for c in mine if c["id"] == check_id)
        assert first["outcome"] == "fail", (mode, first)
        assert words.lower() in (first["message"] or "").lower(), first["message"]
        if mode == "crash-call":
            assert "server stderr" in first["message"]  # what the server said before dying is shown
        assert_no_leaks(tmp_path / f"{mode}.pid")
    # One deadline per broken service: after the first failure nothing more is asked of it ...
    assert (tmp_path / "hang-handshake.methods").read_text().split() == ["server/discover"]
    hang_call = (tmp_path / "hang-call.methods").read_text().split()
    assert hang_call.count("tools/call") == 1, hang_call
    assert hang_call[-1] == "tools/call", hang_call
    # ... and its later checks cite the first failure, without a Python traceback.
    blocked = [c for c in checks if c["service"] == "hang-call" and c["id"] in ("smoke.unknown_tool",)]
    assert blocked
    assert all((c["message"] or "").startswith("blocked by smoke.call:") for c in blocked), blocked
    assert all(c["outcome"] == "skip" and c["blocked_by"] == "smoke.call" for c in blocked), blocked
    output = result.stdout.str()
    assert "pytest_basb/" not in output, "a service failure was reported with the plugin's traceback"
    assert "site-packages/mcp" not in output


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
            timeout_s: 5
            command: ["python", "{ROGUE_SERVER}", "--mode", "ignore-sigterm", "--pid-file", "{stubborn}"]
          parent:
            transport: stdio
            timeout_s: 5
            command: ["python", "{ROGUE_SERVER}", "--mode", "spawn-child", "--pid-file", "{parent}"]
    """)
    result = gate.run_subprocess("-m", "health", timeout=90)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert_no_leaks(stubborn)
    assert_no_leaks(parent)  # the file holds the server's and its grandchild's pids


def _start_hanging_run(gate: Gate, tmp_path: Path, workers: str) -> tuple[subprocess.Popen[bytes], list[Path]]:
    """A run whose two rogue servers (one per worker under -n 2) hang in tools/call.

    They linger: stdin EOF does not end them, only a signal does. Without that they would exit by
    themselves when the run's process dies and closes their pipes, and no test here could see a
    server the gate failed to kill.
    """
    pid_files = [tmp_path / f"hang{i}.pid" for i in (1, 2)]
    method_logs = [tmp_path / f"hang{i}.methods" for i in (1, 2)]
    services = "\n".join(
        f'      hang{i}: {{transport: stdio, timeout_s: 120, command: ["python", "{ROGUE_SERVER}",'
        f' "--mode", "hang-call", "--linger", "--pid-file", "{pid}", "--method-log", "{log}"],'
        " smoke: [{tool: echo, arguments: {text: hi}}]}"
        for i, (pid, log) in enumerate(zip(pid_files, method_logs, strict=True), 1)
    )
    gate.write(f"version: 1\nenvironments:\n  t:\n    services:\n{services}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *gate.args("-n", workers, "-k", "declared_call")],
        cwd=gate.path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Ctrl-C comes while the calls hang: serially one call is in flight (the other service waits its
    # turn), under -n 2 one per worker. Generous: under load starting workers and servers is slow.
    in_flight = 1 if workers == "0" else 2

    def calls_in_flight() -> bool:
        return sum("tools/call" in _read(log) for log in method_logs) >= in_flight

    deadline = time.monotonic() + 180
    while not calls_in_flight() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not calls_in_flight():
        proc.kill()
        _kill_leftovers(pid_files)
        raise AssertionError(
            f"the hanging calls never started; the run said:\n{proc.communicate()[0].decode()[-3000:]}"
        )
    return proc, pid_files


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _pids(pid_files: list[Path]) -> list[int]:
    return [int(line) for p in pid_files for line in _read(p).split()]


def _kill_leftovers(pid_files: list[Path]) -> None:
    """A lingering server outlives a failed test for ever: never leave one on the machine."""
    for pid in _pids(pid_files):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _assert_gone(pid_files: list[Path]) -> None:
    pids = _pids(pid_files)
    assert len(pids) == len(pid_files), "a server never wrote its pid"
    deadline = time.monotonic() + 30  # a guard: killed servers are gone once the run has ended
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if pid_alive(pid)], "a server outlived Ctrl-C"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_ctrl_c_ends_the_run_and_leaves_no_process(gate: Gate, tmp_path: Path, workers: str) -> None:
    proc, pid_files = _start_hanging_run(gate, tmp_path, workers)
    try:
        proc.send_signal(signal.SIGINT)  # the requests would hang for 120 s
        out, _ = proc.communicate(timeout=60)  # a guard against a hang, not a measure of speed
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()[-2000:]
        _assert_gone(pid_files)
        assert not (gate.report_dir / "gate.json").exists(), "an interrupted run wrote a verdict"
    finally:
        proc.kill()
        _kill_leftovers(pid_files)


def test_second_ctrl_c_ends_the_run_at_once(gate: Gate, tmp_path: Path) -> None:
    proc, pid_files = _start_hanging_run(gate, tmp_path, "2")
    try:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()[-2000:]
        _assert_gone(pid_files)
    finally:
        proc.kill()
        _kill_leftovers(pid_files)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_server_that_prints_on_shutdown_fails_stdio_hygiene(gate: Gate, tmp_path: Path, workers: str) -> None:
    # Clean while its session is open; only once stdin closes does it print() on stdout.
    gate.write(hostile_inventory(tmp_path, ["print-at-exit"]))
    result = gate.run("-m", "health", "-n", workers)
    assert result.ret == 1
    hygiene = {c["service"]: c for c in checks_of(gate) if c["id"] == "health.stdio_hygiene"}
    assert hygiene["good"]["outcome"] == "pass"
    late = hygiene["print-at-exit"]
    assert late["outcome"] == "fail", late
    size = len("Server stopped. Goodbye!")  # the line, without its newline
    assert late["message"] == f"wrote {size} bytes of non-JSON-RPC output to stdout at exit: 'Server stopped. Goodbye!'"
    assert json.loads((gate.report_dir / "gate.json").read_text())["verdict"] == "fail"
    assert "health.stdio_hygiene" in (gate.report_dir / "gate.md").read_text()
