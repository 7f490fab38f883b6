"""Commands of the Deployment Manual that cannot run as a drill (they need the staging stack) are
run here against stand-ins of the same kind: the metrics check against a real reference service,
an endpoint that answers an HTTP error with an empty page, and a closed port; the restore drill
twice, beside real backups it must never touch."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_basb.ops.vault_backup import backup
from tests.e2e.ops.test_docs import blocks, workspace
from tests.e2e.ops.test_vault_backup_cli import snapshot
from tests.helpers import REPO, free_port

MANUAL = REPO / "docs" / "BASB_Deployment_Manual_v1.0.md"


def block_with(text: str) -> str:
    found = [b.text for b in blocks(MANUAL) if text in b.text]
    assert len(found) == 1, f"{MANUAL.name}: {len(found)} blocks with {text!r}"
    return found[0]


def metrics_check(port: int) -> subprocess.CompletedProcess[str]:
    """The manual's metrics check as written, its port list replaced by one port."""
    block, count = re.subn(r"for port in [\d ]+;", f"for port in {port};", block_with("promtool check metrics"))
    assert count == 1
    return subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=60)


class _Unavailable(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unavailable() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def reference_service(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "fixtures" / "sample-vault", vault)
    server = subprocess.Popen(
        [sys.executable, str(REPO / "fixtures" / "services" / "vault.py"), "--http", str(port)],
        env={**os.environ, "BASB_VAULT": str(vault)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_documented_metrics_check_fails_when_curl_fails(unavailable: int, reference_service: int) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    assert "set -o pipefail" in block_with("promtool check metrics")
    error_page = metrics_check(unavailable)  # promtool alone calls an empty page fine metrics
    assert error_page.returncode != 0
    assert "503" in error_page.stderr
    closed = metrics_check(free_port())
    assert closed.returncode != 0
    import time

    deadline = time.monotonic() + 90  # a Python MCP server may take seconds to import under load
    while (healthy := metrics_check(reference_service)).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr


def test_the_restore_drill_runs_twice_and_never_touches_backups(tmp_path: Path) -> None:
    drill = block_with("basb-vault restore")
    ws = workspace(tmp_path)
    backups = ws / "backups"
    backup(ws / "fixtures" / "sample-vault", backups / "staging-20261201T030000Z.tar.gz")
    (backups / "notes.txt").write_text("a file of the operator's")
    before = snapshot(backups)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for attempt in (1, 2):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", drill], cwd=ws, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"run {attempt}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        assert "restored byte for byte" in result.stdout
        assert "prune left the drill's archive alone" in result.stdout
        assert snapshot(backups) == before, f"run {attempt} changed backups/"
