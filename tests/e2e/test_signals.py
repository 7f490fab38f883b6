"""SIGTERM ends a run like Ctrl-C; a run killed with SIGKILL is cleaned up by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, REPO, ROGUE_SERVER, Gate, free_port, pid_alive


def _inventory(gate: Gate, tmp_path: Path, port: int) -> Path:
    """A launched HTTP server (outlives a killed gate: no pipe ties it to the run), a throwaway vault
    copy, and a stdio server that hangs in tools/call so the run is still going when it is killed."""
    hang_pid = tmp_path / "hang.pid"
    gate.write(
        f"""
        version: 1
        environments:
          t:
            seed_vault: {REPO / "fixtures" / "sample-vault"}
            services:
              web:
                transport: streamable-http
                url: "http://127.0.0.1:{port}/mcp"
                launch: ["python", "{GOOD_SERVER}", "--http", "{port}"]
                timeout_s: 30
              hang:
                transport: stdio
                timeout_s: 120
                command: ["python", "{ROGUE_SERVER}", "--mode", "hang-call", "--pid-file", "{hang_pid}"]
                smoke: [{{tool: echo, arguments: {{text: hi}}}}]
        """
    )
    return hang_pid


def _start(gate: Gate, temp: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *gate.args("-p", "no:xdist", *extra)],
        cwd=gate.path,
        env={**os.environ, "TMPDIR": str(temp), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(condition: object, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _server_groups(temp: Path) -> list[int]:
    return [int(p.name) for p in temp.glob("basb-run-*/procs/*") if p.name.isdigit()]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_ends_the_run_like_ctrl_c_and_leaves_nothing(gate: Gate, tmp_path: Path, sig: signal.Signals) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    hang_pid = _inventory(gate, tmp_path, free_port())
    proc = _start(gate, temp, "-k", "declared_call or handshake")
    _wait_for(hang_pid.exists, "the hanging server to start")
    _wait_for(lambda: len(_server_groups(temp)) == 2, "both servers to be registered")
    groups = _server_groups(temp)
    time.sleep(1.0)  # the tools/call request is in flight
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)  # a guard against a hang, not a measure of speed
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()[-2000:]
    assert not [g for g in groups if _group_alive(g)], "a server outlived the signal"
    assert not pid_alive(int(hang_pid.read_text().split()[0]))
    assert not list(temp.glob("basb-run-*")), "the run folder (and its vault copy) was left behind"


def test_the_next_run_cleans_up_after_a_run_killed_with_sigkill(gate: Gate, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    hang_pid = _inventory(gate, tmp_path, port)
    killed = _start(gate, temp, "-k", "declared_call or handshake")
    _wait_for(hang_pid.exists, "the hanging server to start")
    _wait_for(lambda: len(_server_groups(temp)) == 2, "both servers to be registered")
    web = [g for g in _server_groups(temp) if str(port) in Path(f"/proc/{g}/cmdline").read_text()]
    assert len(web) == 1, "the launched server was not registered"
    killed.kill()  # SIGKILL: the gate can clean nothing up
    killed.communicate(timeout=30)
    assert all(_group_alive(g) for g in web), "expected the launched server to outlive a SIGKILLed gate"
    (leftover,) = temp.glob("basb-run-*")

    # The next run on the same port: it must not find the port taken by the dead run's server.
    rerun = _start(gate, temp, "-k", "handshake and web")
    out, _ = rerun.communicate(timeout=300)
    text = out.decode()
    assert rerun.returncode == 0, text[-3000:]
    assert f"cleaned up after a killed run: {leftover.name}" in text
    _wait_for(lambda: not any(_group_alive(g) for g in web), "the old server to be gone", timeout_s=10)
    assert not leftover.exists()
    assert not list(temp.glob("basb-run-*")), "the rerun left its own run folder"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_while_the_sessions_close_is_honoured_and_leaves_no_stale_verdict(
    gate: Gate, tmp_path: Path, sig: signal.Signals
) -> None:
    pid_files = [tmp_path / f"stubborn{i}.pid" for i in (1, 2)]
    services = "\n".join(
        f'      stubborn{i}: {{transport: stdio, timeout_s: 60, command: ["python", "{ROGUE_SERVER}",'
        f' "--mode", "ignore-sigterm", "--pid-file", "{pid}"]}}'
        for i, pid in enumerate(pid_files, 1)
    )
    gate.write(f"version: 1\nenvironments:\n  t:\n    services:\n{services}\n")
    gate.report_dir.mkdir()
    (gate.report_dir / "gate.json").write_text('{"verdict": "pass", "note": "the previous run"}')
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *gate.args("-p", "no:xdist", "-q", "-k", "handshake")],
        cwd=gate.path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = b""
    while b"[100%]" not in seen:  # the last check is done: the sessions close now (>= 1 s for these servers)
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            pytest.fail(f"the run ended before its sessions closed:\n{seen.decode()[-2000:]}")
        seen += chunk
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=60)
    output = (seen + rest).decode()
    assert "Traceback" not in output
    # The signal lands during the close (usually) or, on a slow machine, after the run finished:
    # either way the run ends cleanly and no stale verdict is left.
    if proc.returncode == pytest.ExitCode.INTERRUPTED:
        assert not (gate.report_dir / "gate.json").exists(), "the previous run's verdict was left in place"
        assert "Interrupted" in (gate.report_dir / "gate.md").read_text()
    else:
        assert proc.returncode == pytest.ExitCode.OK, output[-3000:]
        assert "the previous run" not in (gate.report_dir / "gate.json").read_text()
        assert "interrupt after the run finished" in output
    pids = [int(line) for p in pid_files for line in p.read_text().split()]
    _wait_for(lambda: not any(pid_alive(pid) for pid in pids), "the stubborn servers to be gone", timeout_s=10)
