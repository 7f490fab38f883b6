"""Processes the prober's end-to-end tests start and always stop: a reference MCP service over HTTP,
basb-probe, the alert webhook receiver, Prometheus and Alertmanager (Debian's packages), each on a
free port with its data in the test's tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from pytest_basb.targets.healthcheck import Unhealthy, probe
from tests.helpers import REPO, free_port

T = TypeVar("T")
STARTUP_S = 90  # a Python MCP server or Prometheus can take long to start on a loaded machine
TOKEN = "probe-t0ken-5ecr3t"  # the reference service requires it; it must never be printed


def daemon(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (after SIGCONT, in case a test stopped it), then SIGKILL after 20 s; the exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return int(process.returncode)


def wait_for(what: str, get: Callable[[], T | None], process: subprocess.Popen[bytes], log: Path) -> T:
    """`get()` once it is not None; fails with the process's log when it exits or time runs out."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            value = get()
            if value is not None:
                return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {STARTUP_S} s (exit {process.poll()})\n{log.read_text()[-3000:]}")


def get(url: str, timeout: float = 60, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {package}; .ci/run installs it)")
    return path


@contextlib.contextmanager
def reference_service(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """distill (requires a bearer token) on a copy of the sample vault; yields it once it answers MCP."""
    port = free_port()
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "fixtures" / "sample-vault", vault)
    log = tmp_path / "distill.log"
    env = {**os.environ, "BASB_VAULT": str(vault), "BASB_TOKEN": TOKEN}
    server = daemon([sys.executable, str(REPO / "fixtures" / "services" / "distill.py"), "--http", str(port)], log, env)
    try:

        def healthy() -> bool | None:
            os.environ["BASB_TOKEN"] = TOKEN  # healthcheck.probe sends it as the service's own container would
            try:
                probe(f"http://127.0.0.1:{port}/mcp", 5)
            except Unhealthy:
                return None
            finally:
                os.environ.pop("BASB_TOKEN", None)
            return True

        wait_for("distill answering MCP", healthy, server, log)
        yield server, port
    finally:
        stop(server)


def write_inventory(tmp_path: Path, services: dict[str, dict[str, Any]]) -> Path:
    path = tmp_path / "basb-inventory.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "environments": {"probed": {"services": services}}}))
    return path


def distill_at(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "transport": "streamable-http",
        "url": f"http://127.0.0.1:{port}/mcp",
        "headers": {"Authorization": "Bearer ${PROBE_TOKEN}"},  # a secret from the environment
        "smoke": [{"tool": "get_layers", "arguments": {"path": "3 Resources/Progressive Summarization.md"}}],
        **extra,
    }


@contextlib.contextmanager
def basb_probe(tmp_path: Path, inventory: Path, env_name: str = "probed") -> Iterator[tuple[str, Path]]:
    """basb-probe serving `env_name`; yields its base URL and its log (stdout and stderr)."""
    port = free_port()
    log = tmp_path / "basb-probe.log"
    argv = [sys.executable, "-m", "pytest_basb.cli.probe", f"--inventory={inventory}", f"--env={env_name}",
            f"--listen=127.0.0.1:{port}"]  # fmt: skip
    process = daemon(argv, log, {**os.environ, "PROBE_TOKEN": TOKEN})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("basb-probe listening", lambda: get(f"{base}/metrics", 5)[0] == 200 or None, process, log)
        yield base, log
    finally:
        status = stop(process)
        assert status == 0, f"basb-probe exited {status} on SIGTERM\n{log.read_text()[-2000:]}"
        assert "basb-probe: stopped" in log.read_text()


@contextlib.contextmanager
def alert_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The webhook receiver; yields its base URL and the file it records to."""
    port = free_port()
    out = tmp_path / "alerts.json"
    log = tmp_path / "alert-receiver.log"
    argv = [sys.executable, "-m", "pytest_basb.ops.alert_receiver", "--listen", f"127.0.0.1:{port}", "--out", str(out)]
    process = daemon(argv, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("alert receiver listening", lambda: get(f"{base}/healthz", 5)[0] == 200 or None, process, log)
        yield base, out
    finally:
        assert stop(process) == 0, log.read_text()


def received(base: str) -> list[dict[str, Any]]:
    status, body = get(f"{base}/alerts", 10)
    assert status == 200, body
    data: list[dict[str, Any]] = json.loads(body)
    return data
