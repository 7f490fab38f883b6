"""Two gate runs at once never test each other's servers or vaults: each launched server gets a port
of its own run (the inventory's port is a preference, not a promise), and the DevOps log keeps both."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, REPO, Gate, free_port

# A launched server that writes down who it is (pid, port, vault copy), then serves streamable HTTP.
RECORDER = """
import json, os, runpy, sys
out, server, port = sys.argv[1:4]
with open(os.path.join(out, f"{os.getpid()}.json"), "w") as handle:
    json.dump({"port": int(port), "vault": os.environ.get("BASB_VAULT")}, handle)
sys.argv = [server, "--http", port]
runpy.run_path(server, run_name="__main__")
"""

# Loaded into both runs with -p: the first test of each waits until the other run has launched its
# servers too, so the two runs certainly overlap (without it the first could end before the second starts).
BARRIER = """
import os, time
from pathlib import Path

_passed = []

def pytest_runtest_setup(item):
    if _passed:
        return
    _passed.append(True)
    here = Path(os.environ["BARRIER_DIR"])
    (here / os.environ["BARRIER_NAME"]).touch()
    deadline = time.monotonic() + 300
    while len(list(here.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
"""


def _run(gate: Gate, tmp_path: Path, name: str, vault: Path) -> subprocess.Popen[bytes]:
    args = gate.args(
        "-p", "no:xdist", "-p", "barrier", "-m", "health", "--basb-log=always",
        f"--basb-vault={vault}", f"--basb-report-dir={tmp_path / f'report-{name}'}",
    )  # fmt: skip
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "plugins"), os.environ.get("PYTHONPATH", "")]),
        "BARRIER_DIR": str(tmp_path / "barrier"),
        "BARRIER_NAME": name,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "pytest", *args]
    return subprocess.Popen(command, cwd=gate.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_two_concurrent_local_runs_each_test_their_own_servers_and_vaults(gate: Gate, tmp_path: Path) -> None:
    for folder in ("tmp", "plugins", "barrier", "servers", "log-vault"):
        (tmp_path / folder).mkdir()
    (tmp_path / "plugins" / "barrier.py").write_text(BARRIER)
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    servers = tmp_path / "servers"
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
                health_url: "http://127.0.0.1:{port}/healthz"
                launch: ["python", "{recorder}", "{servers}", "{GOOD_SERVER}", "{port}"]
                env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
                timeout_s: 60
        """
    )
    vault = tmp_path / "log-vault"
    runs = {name: _run(gate, tmp_path, name, vault) for name in ("a", "b")}
    outputs = {name: proc.communicate(timeout=600)[0].decode() for name, proc in runs.items()}
    for name, proc in runs.items():
        assert proc.returncode == 0, outputs[name][-3000:]

    launched = {name: json.loads((tmp_path / f"report-{name}" / "gate.json").read_text()) for name in runs}
    facts = {name: report["targets"]["web"] for name, report in launched.items()}
    assert facts["a"]["pid"] != facts["b"]["pid"]
    assert facts["a"]["url"] != facts["b"]["url"]
    assert {f["url"] for f in facts.values()} >= {f"http://127.0.0.1:{port}/mcp"}  # one run kept the preference
    moved = [name for name, out in outputs.items() if f"port {port} is taken" in out]
    assert len(moved) == 1, outputs
    # Each run's server is the process its report names, on the port its report names, with a vault of its own.
    seen = {int(p.stem): json.loads(p.read_text()) for p in servers.glob("*.json")}
    assert sorted(seen) == sorted(f["pid"] for f in facts.values())
    for f in facts.values():
        assert f["url"] == f"http://127.0.0.1:{seen[f['pid']]['port']}/mcp"
    vaults = {s["vault"] for s in seen.values()}
    assert len(vaults) == 2
    assert None not in vaults
    # Both runs are in the one DevOps log.
    (log,) = vault.rglob("*dev-ops-log.md")
    text = log.read_text()
    assert "<!-- basb:run 1 details start" in text
    assert "<!-- basb:run 2 details start" in text
    assert not list((tmp_path / "tmp").glob("basb-run-*")), "a run folder was left behind"


def test_a_port_held_by_another_program_moves_the_launched_server(gate: Gate, tmp_path: Path) -> None:
    """A stranger on the inventory's port is never tested in place of the launched server."""
    port = free_port()
    squatter = subprocess.Popen([sys.executable, str(GOOD_SERVER), "--http", str(port)])
    try:
        _wait_listening(port)
        gate.write(f"""
        version: 1
        environments:
          t:
            services:
              web:
                transport: streamable-http
                url: http://127.0.0.1:{port}/mcp
                launch: ["python", "{GOOD_SERVER}", "--http", "{port}"]
                timeout_s: 60
        """)
        result = gate.run_subprocess("-m", "health", "-k", "handshake", "-p", "no:xdist")
        assert result.ret == 0, result.stdout.str()
        assert f"port {port} is taken" in result.stderr.str()
        web = json.loads((gate.report_dir / "gate.json").read_text())["targets"]["web"]
        assert web["url"] != f"http://127.0.0.1:{port}/mcp"
        assert web["pid"] != squatter.pid
    finally:
        squatter.terminate()
        squatter.wait(timeout=10)


def test_a_taken_port_the_launch_command_does_not_name_is_a_clear_failure(gate: Gate, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "port").write_text(str(port))
    squatter = subprocess.Popen([sys.executable, str(GOOD_SERVER), "--http", str(port)])
    try:
        _wait_listening(port)
        gate.write(f"""
        version: 1
        environments:
          t:
            services:
              web:
                transport: streamable-http
                url: http://127.0.0.1:{port}/mcp
                launch: ["sh", "-c", "exec python {GOOD_SERVER} --http $(cat {tmp_path / "port"})"]
        """)
        result = gate.run("-m", "health", "-k", "handshake", "-p", "no:xdist")
        result.stdout.fnmatch_lines(["*cannot be moved to a free port*"])
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    finally:
        squatter.terminate()
        squatter.wait(timeout=10)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"the squatter never listened on {port}")
