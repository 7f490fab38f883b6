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
