"""The CI/CD workflow is wired as the deployment manual says: gate with -m smoke and --basb-ci-status,
promotion only after a green gate, gate.md and Allure as artifacts, rollback on a failed gate."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "basb.yml"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_pipeline_order_and_gate() -> None:
    jobs = workflow()["jobs"]
    assert list(jobs) == ["lint-test", "images", "deploy-staging", "gate-staging", "promote-prod"]
    assert jobs["images"]["needs"] == "lint-test"
    assert jobs["deploy-staging"]["needs"] == "images"
    assert set(jobs["gate-staging"]["needs"]) == {"lint-test", "images", "deploy-staging"}
    assert "gate-staging" in jobs["promote-prod"]["needs"]
    gate = steps_text(jobs["gate-staging"])
    assert re.search(r"pytest --basb-env=staging-stack .*-m smoke", gate)
    assert "--basb-ci-status=basb-report/ci-status.json" in gate
    assert "--alluredir=allure-results" in gate
    uploads = [s for s in jobs["gate-staging"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert "basb-report/" in uploads[0]["with"]["path"]
    assert "allure-report/" in uploads[0]["with"]["path"]
    assert "deploy/scripts/rollback.sh" in gate
    assert "bash .ci/run" in steps_text(jobs["lint-test"])


def test_every_run_step_is_bash_with_pipefail() -> None:
    """GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`; its default shell
    without it is `bash -e {0}`, where `curl ... | tool` passes when curl fails."""
    data = workflow()
    assert data["defaults"]["run"]["shell"] == "bash"
    for name, job in data["jobs"].items():
        assert job.get("defaults", {}).get("run", {}).get("shell", "bash") == "bash", name
        for step in job["steps"]:
            assert step.get("shell", "bash") == "bash", f"{name}: {step.get('name')}"


def _evaluate(condition: str, *, ref: str, event: str) -> bool:
    """The job `if:` expressions used here (==, !=, &&, ||, parentheses, github.ref/event_name)."""
    python = condition.replace("&&", " and ").replace("||", " or ")
    python = python.replace("github.event_name", repr(event)).replace("github.ref", repr(ref))
    assert re.fullmatch(r"[\s'\w/.=!()-]*", python), f"unexpected expression: {condition}"
    return bool(eval(python, {"__builtins__": {}}))  # only string literals compared: checked just above


def test_only_a_push_to_main_or_a_manual_run_promotes_to_prod() -> None:
    condition = workflow()["jobs"]["promote-prod"]["if"]
    main = "refs/heads/main"
    assert _evaluate(condition, ref=main, event="push")
    assert _evaluate(condition, ref=main, event="workflow_dispatch")
    assert not _evaluate(condition, ref=main, event="schedule")  # the 4-hourly gate never promotes
    assert not _evaluate(condition, ref="refs/pull/7/merge", event="pull_request")
    assert not _evaluate(condition, ref="refs/heads/feature", event="push")


def _names(job: dict[str, Any]) -> list[str]:
    return [str(step.get("run", step.get("uses", ""))) for step in job["steps"]]


def test_a_failed_deploy_or_gate_rolls_back_and_only_a_passed_gate_is_recorded() -> None:
    jobs = workflow()["jobs"]
    for name in ("deploy-staging", "gate-staging", "promote-prod"):
        steps = jobs[name]["steps"]
        runs = _names(jobs[name])
        rollbacks = [s for s in steps if "deploy/scripts/rollback.sh" in str(s.get("run", ""))]
        assert len(rollbacks) == 1, name
        assert rollbacks[0]["if"] == "failure()", name
        # after every step that can fail the release: the deploy, the gate, the record
        last_risky = max(i for i, r in enumerate(runs) if "deploy.sh" in r or "pytest" in r)
        assert runs.index(rollbacks[0]["run"]) > last_risky, name
    for name in ("gate-staging", "promote-prod"):
        runs = _names(jobs[name])
        record = next(i for i, r in enumerate(runs) if "deploy.sh --passed" in r)
        gate = next(i for i, r in enumerate(runs) if "pytest --basb-env" in r)
        assert record > gate, name
        assert "basb-report/gate.json" in runs[record]
        assert "if" not in jobs[name]["steps"][record]  # runs only when every step before it passed
    assert "--passed" not in steps_text(jobs["deploy-staging"])  # a healthy deploy is not a passed gate
    assert "deploy-staging" in jobs["gate-staging"]["needs"]


def test_staging_and_prod_gates_push_their_metrics_when_a_pushgateway_is_set() -> None:
    """monitoring.gate_metrics and BasbGateNotRunning read the pushed metrics of both gates."""
    jobs = workflow()["jobs"]
    for name in ("gate-staging", "promote-prod"):
        gate = next(s for s in jobs[name]["steps"] if "pytest --basb-env=" in str(s.get("run", "")))
        assert "${BASB_PUSHGATEWAY:+--basb-pushgateway=$BASB_PUSHGATEWAY}" in gate["run"], name
        assert gate["env"]["BASB_PUSHGATEWAY"].startswith("${{ vars."), name
