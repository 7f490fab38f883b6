"""Shared test helpers: the repository's paths, the reference servers, and the `Gate` that runs the real
suites (pytester) against an inventory. Tests import from here; conftest.py only holds fixtures."""

from __future__ import annotations

import os
import shutil
import socket
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUITES = REPO / "suites"
SERVERS = REPO / "tests" / "servers"
GOOD_SERVER = SERVERS / "good_server.py"
ROGUE_SERVER = SERVERS / "rogue_server.py"
SAMPLE_VAULT = REPO / "fixtures" / "sample-vault"
NODE_EVERYTHING = SERVERS / "node" / "node_modules" / "@modelcontextprotocol" / "server-everything"
NODE_MEMORY = SERVERS / "node" / "node_modules" / "@modelcontextprotocol" / "server-memory"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def obsidian_vault(parent: Path) -> Path:
    """A copy of the sample vault under `parent`, plus what Obsidian users have: a .obsidian folder,
    attachments, names with spaces and non-ASCII, empty folders, an executable file, an old mtime."""
    root = parent / "My Vault"
    shutil.copytree(SAMPLE_VAULT, root)
    (root / "Attachments").mkdir()
    (root / "Attachments" / "diagram 1.png").write_bytes(bytes(range(256)) * 40)
    (root / "3 Resources" / "Café – naïve résumé 日本語.md").write_text("# Café\n\nnon-ASCII name\n", "utf-8")
    (root / "Empty Folder").mkdir()
    (root / ".obsidian" / "workspace.json").write_text('{"main": {}}\n')
    script = root / "2 Areas" / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    os.utime(root / "2 Areas" / "Home.md", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    return root


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
