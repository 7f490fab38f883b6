"""The CI/CD workflow is valid against GitHub's workflow schema (check-jsonschema's vendored copy), and
every script and option it uses exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "basb.yml"


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(found).exists():
        pytest.skip("check-jsonschema is not installed (dev extras)")
    return found


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_workflow_is_valid_against_the_github_workflow_schema() -> None:
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    result = validate(broken)
    assert result.returncode == 1
    assert "lint-test" in result.stdout


def test_every_script_and_option_the_workflow_uses_exists() -> None:
    text = WORKFLOW.read_text()
    for script in set(re.findall(r"deploy/scripts/[\w.-]+\.sh", text)):
        assert (REPO / script).is_file(), script
    help_text = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:randomly"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    ).stdout
    for option in set(re.findall(r"(--basb-[a-z-]+)", text)):
        assert option in help_text, f"{option} is not an option of the plugin"
    inventory = yaml.safe_load((REPO / "basb-inventory.yaml").read_text())
    for env in re.findall(r"--basb-env=([\w-]+)", text):
        assert env in inventory["environments"], env
