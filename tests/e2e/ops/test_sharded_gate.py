"""The reusable workflow .github/workflows/basb-gate-sharded.yml: valid against GitHub's workflow
schema, and its shard and merge steps, run here exactly as written (N shard runs of a fleet of real
stdio MCP servers, then the merge), give one full report, which deploy.sh accepts as a passed gate
where it refuses a single shard's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.ops.test_deploy import SCRIPTS
from tests.e2e.ops.test_docs import workspace
from tests.e2e.ops.test_workflow import validate
from tests.e2e.test_scale import SERVICES, fleet_inventory
from tests.helpers import REPO

SHARDED = REPO / ".github" / "workflows" / "basb-gate-sharded.yml"
SHARDS = 3


def step(job: str, step_id: str) -> dict[str, Any]:
    jobs = yaml.safe_load(SHARDED.read_text())["jobs"]
    found: dict[str, Any] = next(s for s in jobs[job]["steps"] if s.get("id") == step_id)
    return found


def run_step(job: str, step_id: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a step's `run:` text as GitHub does with `shell: bash` (bash -eo pipefail), its
    `${{ ... }}` env values replaced by the given ones."""
    spec = step(job, step_id)
    assert set(spec.get("env", {})) <= set(env), f"{step_id} needs env {sorted(spec.get('env', {}))}"
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    full_env.pop("PYTEST_XDIST_WORKER", None)
    full_env.pop("PYTEST_ADDOPTS", None)
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", spec["run"]]
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


def test_the_sharded_workflow_is_valid_and_always_merges() -> None:
    result = validate(SHARDED)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = yaml.safe_load(SHARDED.read_text())
    assert workflow["defaults"]["run"]["shell"] == "bash"
    jobs = workflow["jobs"]
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    assert jobs["merge"]["needs"] == "shard"
    assert jobs["merge"]["if"] == "${{ !cancelled() }}"


def test_the_plan_step_lists_the_shards(tmp_path: Path) -> None:
    output = tmp_path / "github-output"
    planned = run_step("plan", "list", tmp_path, SHARDS="4", GITHUB_OUTPUT=str(output))
    assert planned.returncode == 0, planned.stderr
    assert output.read_text() == "shards=[1,2,3,4]\n"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    ws = workspace(tmp_path)
    (ws / "fleet.yaml").write_text(fleet_inventory(tmp_path))
    return ws


def gate_env(shard: int) -> dict[str, str]:
    return {"BASB_ENV": "t", "BASB_INVENTORY": "fleet.yaml", "BASB_MARK": "smoke", "SHARD": str(shard),
            "SHARDS": str(SHARDS)}  # fmt: skip


def test_shard_runs_and_the_merge_give_one_full_report(clone: Path, tmp_path: Path) -> None:
    for k in range(1, SHARDS + 1):
        shard = run_step("shard", "gate-shard", clone, **gate_env(k))
        assert shard.returncode == 0, shard.stdout[-3000:] + shard.stderr[-3000:]
        assert json.loads((clone / f"gate-{k}" / "gate.json").read_text())["scope"]["full"] is False
    output = tmp_path / "github-output"
    merged = run_step("merge", "merge", clone, SHARDS=str(SHARDS), GITHUB_OUTPUT=str(output))
    assert merged.returncode == 0, merged.stdout[-3000:] + merged.stderr[-3000:]
    assert output.read_text() == "verdict=pass\n"
    gate = json.loads((clone / "basb-report" / "gate.json").read_text())
    assert gate["scope"]["full"] is True
    assert sorted(s["id"] for s in gate["services"]) == sorted(SERVICES)
    checks = [(c["service"], c["id"]) for c in gate["checks"]]
    assert len(checks) == len(set(checks))  # every check of every service once
    # deploy.sh records a release on the merged report, never on one shard's.
    state = tmp_path / "state"
    state.mkdir()
    (state / "current").write_text("1.1\n")
    env = {**os.environ, "BASB_DEPLOY_STATE": str(state)}
    command = ["bash", str(SCRIPTS / "deploy.sh"), "--passed", "1.1"]
    one = subprocess.run([*command, str(clone / "gate-1" / "gate.json")], env=env, capture_output=True, text=True)
    assert one.returncode == 1
    assert "a partial run (--basb-shard 1/3)" in one.stderr
    whole = subprocess.run(
        [*command, str(clone / "basb-report" / "gate.json")], env=env, capture_output=True, text=True
    )
    assert whole.returncode == 0, whole.stderr
    assert (state / "passed").read_text() == "1.1\n"


def test_a_missing_shard_fails_the_merge_as_partial(clone: Path, tmp_path: Path) -> None:
    for k in range(1, SHARDS):  # the last shard never reported
        assert run_step("shard", "gate-shard", clone, **gate_env(k)).returncode == 0
    output = tmp_path / "github-output"
    merged = run_step("merge", "merge", clone, SHARDS=str(SHARDS), GITHUB_OUTPUT=str(output))
    assert merged.returncode != 0
    assert f"shard {SHARDS} wrote no gate.json" in merged.stdout
    assert "partial: " in merged.stderr
    assert json.loads((clone / "basb-report" / "gate.json").read_text())["scope"]["full"] is False
