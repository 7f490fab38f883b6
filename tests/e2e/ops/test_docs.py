"""The operations documents cannot drift from the code.

- Every fenced ```bash block preceded by `<!-- test: run -->` is run, in order, in a fresh
  workspace (a copy of the repository's runnable parts in a temp dir, the venv's bin first on PATH)
  and must exit 0: each document is one drill, so later blocks may use what earlier ones made.
- Every other bash block, and the prose, is checked: each repository path it names exists, each
  `--basb-*` option is an option of the plugin, each `basb-vault` subcommand exists, each
  `--basb-env=NAME` is an environment of basb-inventory.yaml.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

DOCS = [REPO / "docs" / "BASB_Deployment_Manual_v1.0.md", REPO / "docs" / "BASB_Monitoring_Configuration_v1.0.md"]
RUN_MARKER = "<!-- test: run -->"
# What a runnable block may need beyond the venv: skipped with a reason when absent (CI has them).
TOOLS = ("promtool", "amtool", "docker-compose", "shellcheck", "curl")
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PATH = re.compile(r"(?<![\w/.-])((?:deploy|docs|fixtures|suites|pytest_basb|\.github|\.ci|tests)/[\w./-]*[\w/])")
_TOP_FILES = ("basb-inventory.yaml", "pyproject.toml", "Makefile")
RUNTIME_PATHS = ("deploy/.state",)  # made by the deploy scripts, never committed


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    language: str
    text: str
    runnable: bool

    @property
    def label(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        runnable = bool(before) and before[-1].strip() == RUN_MARKER
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(doc, line, match.group(1), match.group(2), runnable))
    return found


def test_documents_have_runnable_blocks_and_every_marker_precedes_a_bash_block() -> None:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        runnable = [b for b in blocks(doc) if b.runnable]
        assert len(runnable) >= 2, f"{doc.name}: fewer than two runnable blocks"
        assert all(b.language == "bash" for b in runnable), f"{doc.name}: a run marker before a non-bash block"
        assert text.count(RUN_MARKER) == len(runnable), f"{doc.name}: a run marker not right before a fenced block"


@cache
def plugin_help() -> str:
    command = [sys.executable, "-m", "pytest", "--help", "-p", "no:randomly"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO).stdout


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_paths_options_and_environments_named_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    problems = []
    for path in sorted(set(_PATH.findall(text))):
        if "<" not in path and not path.startswith(RUNTIME_PATHS) and not (REPO / path).exists():
            problems.append(f"no such path: {path}")
    for option in sorted(set(re.findall(r"(--basb-[a-z-]+)", text))):
        if option not in plugin_help():
            problems.append(f"not an option of the plugin: {option}")
    from pytest_basb.ops.vault_backup import main

    for command in sorted(set(re.findall(r"basb-vault (\w+)", text))):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        if exited.value.code != 0:
            problems.append(f"no basb-vault subcommand: {command}")
    environments = yaml.safe_load((REPO / "basb-inventory.yaml").read_text())["environments"]
    for env in sorted(set(re.findall(r"--basb-env=([a-z0-9][a-z0-9-]*)", text))):
        if env not in environments:
            problems.append(f"no environment {env} in basb-inventory.yaml")
    assert not problems, f"{doc.name}:\n" + "\n".join(problems)


def workspace(root: Path) -> Path:
    """What a person has after cloning: the runnable parts of the repository (copies, so nothing
    a drill does can touch the repository itself)."""
    ws = root / "clone"
    ws.mkdir()
    for name in ("suites", "fixtures", "deploy", "docs", ".github"):
        shutil.copytree(REPO / name, ws / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".state"))
    for name in (*_TOP_FILES, "conftest.py"):
        shutil.copy2(REPO / name, ws / name)
    return ws


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_runnable_blocks_run(doc: Path, tmp_path: Path) -> None:
    runnable = [b for b in blocks(doc) if b.runnable]
    missing = sorted({t for b in runnable for t in TOOLS if re.search(rf"\b{t}\b", b.text)} - _on_path())
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (.ci/run installs them)")
    ws = workspace(tmp_path)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    for block in runnable:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"{block.label}: exit {result.returncode}\n--- block\n{block.text}--- stdout\n{result.stdout[-3000:]}"
            f"--- stderr\n{result.stderr[-3000:]}"
        )


def _on_path() -> set[str]:
    return {t for t in TOOLS if shutil.which(t)}
