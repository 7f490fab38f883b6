"""Self-test helpers: real pytest runs (pytester) of the real suites against real MCP servers."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
SUITES = REPO / "suites"
SERVERS = REPO / "tests" / "servers"
GOOD_SERVER = SERVERS / "good_server.py"
ROGUE_SERVER = SERVERS / "rogue_server.py"
NODE_EVERYTHING = SERVERS / "node" / "node_modules" / "@modelcontextprotocol" / "server-everything"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gate:
    """Writes an inventory into the pytester folder and runs the suites against it."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path
        self.inventory = self.path / "inv.yaml"
        self.report_dir = self.path / "report"
        # Our own ini, so the repository's pyproject (basb_env = local) does not apply.
        (self.path / "pytest.ini").write_text("[pytest]\n")

    def write(self, yaml_text: str) -> Path:
        self.inventory.write_text(textwrap.dedent(yaml_text))
        return self.inventory

    def args(self, *extra: str, env: str = "t") -> list[str]:
        return [
            str(SUITES),
            f"--basb-inventory={self.inventory}",
            f"--basb-env={env}",
            f"--basb-report-dir={self.report_dir}",
            "-c",
            str(self.path / "pytest.ini"),
            f"--rootdir={self.path}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            # The regression suite needs recorded baselines (without one it fails by design): tests
            # that want it select it with their own -m, which replaces this one.
            "-m",
            "not regression",
            *extra,
        ]

    def run(self, *extra: str, env: str = "t") -> pytest.RunResult:
        return self.pytester.runpytest(*self.args(*extra, env=env))

    def run_subprocess(self, *extra: str, env: str = "t", timeout: float = 120) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(*self.args(*extra, env=env), timeout=timeout)


@pytest.fixture
def gate(pytester: pytest.Pytester) -> Gate:
    return Gate(pytester)


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def pid_file(tmp_path: Path) -> Path:
    return tmp_path / "server.pid"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def assert_no_leaks() -> Callable[[Path], None]:
    """Call with a pid file a server wrote: the process must be gone once the run is over."""

    def check(path: Path) -> None:
        assert path.exists(), f"server never wrote {path}"
        for line in path.read_text().split():
            assert not pid_alive(int(line)), f"process {line} outlived the pytest run"

    return check
