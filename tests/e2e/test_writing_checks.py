"""The examples of docs/writing-checks.md, run as written against two real servers: a team's checks
land in gate.json, gate.md, the Obsidian log and Allure like shipped ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import GOOD_SERVER, REPO, Gate

GUIDE = REPO / "docs" / "writing-checks.md"
_EXAMPLE = re.compile(r"```python\n# (team_suites/\S+\.py)\n(.*?)```", re.DOTALL)


def write_examples(folder: Path) -> list[str]:
    examples = _EXAMPLE.findall(GUIDE.read_text(encoding="utf-8"))
    for name, code in examples:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(code)
    return [name for name, _ in examples]


def test_the_guide_examples_are_gate_checks(gate: Gate) -> None:
    assert write_examples(gate.path) == [
        "team_suites/test_team_tools.py",
        "team_suites/test_team_replicas.py",
        "team_suites/test_team_security.py",
    ]
    # `twin` lacks `add`, whose description is too short: only `kit` fails the first example.
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit: {{transport: stdio, timeout_s: 30, command: [python, "{GOOD_SERVER}"]}}
          twin: {{transport: stdio, timeout_s: 30, command: [python, "{GOOD_SERVER}", --drop-tool, add]}}
    """)
    vault, allure_dir = gate.path / "vault", gate.path / "allure"
    args = gate.args(f"--basb-vault={vault}", "--basb-log=always", f"--alluredir={allure_dir}", "-m", "")
    args[0] = str(gate.path / "team_suites")
    result = gate.pytester.runpytest(*args)
    assert result.ret == 1
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    outcomes = {(c["id"], c["service"]): c["outcome"] for c in checks}
    assert outcomes == {
        ("team.tools_described", "kit"): "fail",
        ("team.tools_described", "twin"): "pass",
        ("team.replicas_agree", "kit"): "pass",
        ("team.replicas_agree", "twin"): "pass",
        ("security.team_write_tools_annotated", "kit"): "warn",
        ("security.team_write_tools_annotated", "twin"): "warn",
    }
    failing = next(c for c in checks if c["outcome"] == "fail")
    assert failing["message"] == "tools without a useful description: add"
    gate_items = json.loads((gate.report_dir / "gate.json").read_text())["gate"]
    security = next(item for item in gate_items if item["item"].startswith("Security"))
    assert security["status"] == "pass"  # the warning is evidence, and no failure
    assert "team.tools_described" in (gate.report_dir / "gate.md").read_text()
    (log,) = (vault / "agent-workspaces" / "DevOps" / "deply-notes").glob("* dev-ops-log.md")
    assert "team.tools_described" in log.read_text()
    tags = {
        label["value"]
        for path in allure_dir.glob("*-result.json")
        for label in json.loads(path.read_text())["labels"]
        if label["name"] == "tag"
    }
    ids = ("team.tools_described", "team.replicas_agree", "security.team_write_tools_annotated")
    assert {f"check:{check_id}" for check_id in ids} <= tags
