"""SIGINT and SIGTERM at more moments of a run (collection, a launch in progress, after the reports):
each ends with the exit code the docs' timing matrix gives and leaves no server or run folder.
(Mid-call, during the close and SIGKILL then a new run: test_signals.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, REPO, Gate, free_port, pid_alive

# Loaded with -p pause: at the hook named by PAUSE_AT it writes PAUSE_DIR/paused and waits (up to a
# minute) for PAUSE_DIR/go, so the test can signal the run at that moment and nowhere else.
PAUSE = """
import os, time
from pathlib import Path

def _pause(hook):
    if os.environ.get("PAUSE_AT") != hook:
        return
    here = Path(os.environ["PAUSE_DIR"])
    (here / "paused").touch()
    deadline = time.monotonic() + 60
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)

def pytest_collection_modifyitems(session, config, items):
    _pause("collection")

def pytest_terminal_summary(terminalreporter, exitstatus, config):
    _pause("after-reports")
"""


def _setup(gate: Gate, tmp_path: Path, launch: str) -> None:
    for folder in ("tmp", "plugins", "pause"):
        (tmp_path / folder).mkdir()
    (tmp_path / "plugins" / "pause.py").write_text(PAUSE)
    port = free_port()
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
                launch: {launch.replace("PORT", str(port))}
                timeout_s: 60
        """
    )


def _start(gate: Gate, tmp_path: Path, pause_at: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "plugins"), os.environ.get("PYTHONPATH", "")]),
        "PAUSE_AT": pause_at,
        "PAUSE_DIR": str(tmp_path / "pause"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "pytest", *gate.args("-p", "no:xdist", "-p", "pause", "-m", "health")]
    return subprocess.Popen(command, cwd=gate.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.communicate()[0].decode() if proc.poll() is not None else ""
            pytest.fail(f"{path.name} never appeared:\n{out[-3000:]}")
        time.sleep(0.05)


SIGNALS = pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])


@SIGNALS
def test_a_signal_during_collection_ends_the_run_before_any_server_starts(
    gate: Gate, tmp_path: Path, sig: signal.Signals
) -> None:
    started = tmp_path / "server-started"
    _setup(gate, tmp_path, f'["sh", "-c", "touch {started}; exec python {GOOD_SERVER} --http PORT"]')
    proc = _start(gate, tmp_path, "collection")
    _wait_for(tmp_path / "pause" / "paused", proc)
    proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0].decode()  # a guard against a hang, not a measure
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert "Traceback" not in out
    assert not started.exists(), "a server was launched after the signal"
    assert not (gate.report_dir / "gate.json").exists()  # no verdict for an interrupted run
    assert "Interrupted" in (gate.report_dir / "gate.md").read_text()
    assert not list((tmp_path / "tmp").glob("basb-run-*")), "the run folder (and its vault copy) was left behind"


@SIGNALS
def test_a_signal_while_a_server_is_launching_kills_it(gate: Gate, tmp_path: Path, sig: signal.Signals) -> None:
    pid_file = tmp_path / "launching.pid"
    # A server that is still starting when the signal comes: it never answers.
    _setup(gate, tmp_path, f'["sh", "-c", "echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; exec sleep 600"]')
    proc = _start(gate, tmp_path, "none")
    _wait_for(pid_file, proc)
    proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert "Traceback" not in out
    deadline = time.monotonic() + 10
    pid = int(pid_file.read_text())
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid), "the launching server outlived the signal"
    assert not list((tmp_path / "tmp").glob("basb-run-*")), "the run folder (and its vault copy) was left behind"
    assert not (gate.report_dir / "gate.json").exists()  # no verdict for an interrupted run


@SIGNALS
def test_a_signal_after_the_reports_leaves_the_verdict_standing(
    gate: Gate, tmp_path: Path, sig: signal.Signals
) -> None:
    _setup(gate, tmp_path, f'["python", "{GOOD_SERVER}", "--http", "PORT"]')
    proc = _start(gate, tmp_path, "after-reports")
    _wait_for(tmp_path / "pause" / "paused", proc)
    proc.send_signal(sig)
    time.sleep(0.5)  # the handler has run (it returns at once): now let the run end
    (tmp_path / "pause" / "go").touch()
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == pytest.ExitCode.OK, out[-3000:]
    assert "interrupt after the run finished: its verdict stands" in out
    assert json.loads((gate.report_dir / "gate.json").read_text())["verdict"] == "pass"
    pid = json.loads((gate.report_dir / "gate.json").read_text())["targets"]["web"]["pid"]
    assert not pid_alive(pid), "the launched server outlived the run"
    assert not list((tmp_path / "tmp").glob("basb-run-*")), "the run folder (and its vault copy) was left behind"
