"""Fixtures for the self-tests (helpers they share are in tests/helpers.py).

tests/unit: pure functions, no subprocess, no network, no server. tests/e2e: real pytest runs
(pytester) of the real suites against real MCP servers, containers, and the CLIs as processes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Gate, pid_alive

pytest_plugins = ["pytester"]


@pytest.fixture
def gate(pytester: pytest.Pytester) -> Gate:
    return Gate(pytester)


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def pid_file(tmp_path: Path) -> Path:
    return tmp_path / "server.pid"


@pytest.fixture
def assert_no_leaks() -> Callable[[Path], None]:
    """Call with a pid file a server wrote: the process must be gone once the run is over."""

    def check(path: Path) -> None:
        assert path.exists(), f"server never wrote {path}"
        for line in path.read_text().split():
            assert not pid_alive(int(line)), f"process {line} outlived the pytest run"

    return check
