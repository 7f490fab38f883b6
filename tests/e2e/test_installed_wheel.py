"""The pip user's walk-through: a wheel built from this repo, a fresh venv, an empty folder.

One venv per test session (built once, reused); every run is a real `pytest` of the installed
package in a folder that holds nothing but an inventory, so nothing of this checkout can help.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, REPO


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="session")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel of this checkout installed (dependencies from the package index)."""
    root = tmp_path_factory.mktemp("wheel")
    wheel_cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"), str(REPO)]
    built = _run(wheel_cmd, root)
    assert built.returncode == 0, built.stderr
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], root)
    assert made.returncode == 0, made.stderr
    wheel = next((root / "dist").glob("pytest_basb-*.whl"))
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], root)
    assert installed.returncode == 0, installed.stderr
    return venv


def _inventory(folder: Path) -> None:
    (folder / "inv.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        environments:
          prod:
            services:
              kit:
                transport: stdio
                command: ["python", "{GOOD_SERVER}"]
                smoke:
                  - tool: echo
                    arguments: {{text: hello}}
        """)
    )


def _gate(venv: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    return _run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", *args], folder, env)


def test_installed_wheel_runs_the_shipped_suites_from_an_empty_folder(installed_venv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    _inventory(folder)
    result = _gate(installed_venv, folder, "--basb-inventory=inv.yaml", "--basb-env=prod", "-m", "smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BASB quality gate" in result.stdout
    gate = json.loads((folder / "basb-report" / "gate.json").read_text())
    assert gate["verdict"] == "pass"
    ran = {c["id"] for c in gate["checks"] if c["outcome"] == "pass"}
    assert {"health.handshake", "smoke.tools_listed", "smoke.call"} <= ran
    # The runbooks came with the package: the failing-check look-up does not need a clone.
    assert gate["runbooks_dir"].startswith(str(installed_venv)), gate["runbooks_dir"]
    assert (Path(gate["runbooks_dir"]) / "smoke.call.md").is_file()
    assert str(REPO) not in result.stdout  # nothing of this checkout was used


def test_team_suites_beside_the_shipped_ones(installed_venv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "team"
    (folder / "team_suites").mkdir(parents=True)
    _inventory(folder)
    (folder / "pytest.ini").write_text("[pytest]\ntestpaths = team_suites\nbasb_inventory = inv.yaml\n")
    (folder / "team_suites" / "test_team_echo.py").write_text(
        textwrap.dedent("""\
        import pytest

        pytestmark = [pytest.mark.smoke, pytest.mark.basb_check("smoke.team_echo")]


        def test_team_echo(basb_service):
            assert basb_service.session.call_tool("echo", {"text": "hi"}).is_error is False
        """)
    )
    result = _gate(installed_venv, folder, "--basb-env=prod", "-m", "smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    ids = {c["id"] for c in json.loads((folder / "basb-report" / "gate.json").read_text())["checks"]}
    assert {"smoke.team_echo", "smoke.tools_listed"} <= ids


@pytest.mark.parametrize(
    "server",
    [
        pytest.param([str(Path(sys.executable).parent / "mcp-server-time")], id="pypi-mcp-server-time"),
        pytest.param(
            ["node", str(REPO / "tests/servers/node/node_modules/@modelcontextprotocol/server-memory/dist/index.js")],
            id="npm-server-memory",
        ),
    ],
)
def test_zero_config_first_contact_with_a_third_party_server(
    installed_venv: Path, tmp_path: Path, server: list[str]
) -> None:
    """A newcomer's first try: no inventory, a server no one here wrote, health and smoke."""
    if not Path(server[-1]).exists():
        pytest.skip(f"{server[-1]} is not installed (make test installs it)")
    folder = tmp_path / "first-try"
    folder.mkdir()
    command = " ".join(server)
    result = _gate(installed_venv, folder, f"--basb-command={command}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "verdict: PASS (adhoc)" in result.stdout
    gate = json.loads((folder / "basb-report" / "gate.json").read_text())
    assert gate["environment"] == "adhoc"
    assert {c["id"].split(".")[0] for c in gate["checks"]} >= {"health", "smoke"}
    printed = _gate(installed_venv, folder, f"--basb-command={command}", "--basb-print-inventory")
    assert printed.returncode == 0, printed.stderr
    assert server[-1] in printed.stdout  # the inventory that reproduces the run
