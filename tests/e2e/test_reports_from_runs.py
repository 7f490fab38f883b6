"""The run's deliverables, written by real gate runs: gate.json, the Obsidian log, JUnit properties."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.helpers import GOOD_SERVER, REPO, Gate

INVENTORY = f"""
version: 1
environments:
  t:
    services:
      kit:
        transport: stdio
        command: ["python", "{GOOD_SERVER}"]
        smoke: [{{tool: echo, arguments: {{text: hi}}}}]
"""


def test_two_runs_leave_one_daily_log_with_two_runs_and_a_persons_edit(gate: Gate, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    gate.write(INVENTORY)
    gate.run_subprocess("-m", "health", f"--basb-vault={vault}")
    logs = list((vault / "agent-workspaces" / "DevOps" / "deply-notes").glob("* dev-ops-log.md"))
    assert len(logs) == 1
    log = logs[0]
    log.write_text(log.read_text() + "\nNote from a person: checked the dashboards.\n")
    gate.run_subprocess("-m", "smoke", f"--basb-vault={vault}")
    text = log.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["runs"] == 2
    assert front["environment"] == "t"
    assert "Note from a person: checked the dashboards." in text
    assert text.count("> [!note]- Run 2 —") == 1
    assert text.splitlines()[0] == "---"
    assert "# BASB DevOps Log - " in text


def test_junit_xml_carries_the_check_id(gate: Gate) -> None:
    gate.write(INVENTORY)
    junit = gate.path / "junit.xml"
    gate.run("-m", "health", f"--junitxml={junit}")
    cases = ET.parse(junit).getroot().iter("testcase")
    ids = {
        case.get("name"): prop.get("value")
        for case in cases
        for prop in case.iter("property")
        if prop.get("name") == "basb_check"
    }
    assert ids["test_handshake[kit]"] == "health.handshake"
    assert ids["test_liveness[kit]"] == "health.liveness"


def test_a_crashed_worker_loses_nothing_of_the_others(gate: Gate) -> None:
    """A check whose worker dies becomes an error in the gate; every other result is kept."""
    gate.pytester.makepyfile(
        basb_killer="""
        import os
        import time

        def pytest_runtest_call(item):
            if item.name == "test_liveness[kit]":
                time.sleep(0.5)  # let the reports already sent reach the controller
                os._exit(3)
        """
    )
    gate.write(INVENTORY)
    result = gate.pytester.runpytest_subprocess(*gate.args("-m", "health", "-n", "2", "-p", "basb_killer"), timeout=120)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    data = json.loads((gate.report_dir / "gate.json").read_text())
    by_test = {c["nodeid"].split("::")[-1]: c for c in data["checks"]}
    assert by_test["test_liveness[kit]"]["outcome"] == "error"
    assert by_test["test_liveness[kit]"]["id"] == "worker.crash"
    assert by_test["test_handshake[kit]"]["outcome"] == "pass"
    assert data["verdict"] == "fail"


def test_gate_json_of_a_real_run_matches_its_schema_and_not_evaluated_items(gate: Gate) -> None:
    from jsonschema import Draft202012Validator

    from pytest_basb.report.gate import GATE_ITEMS

    gate.write(INVENTORY)
    result = gate.run("-m", "health")
    assert "deselected" in result.parseoutcomes()  # role suites: this inventory has no roles
    data = json.loads((gate.report_dir / "gate.json").read_text())
    schema = json.loads((REPO / "schemas" / "gate-report.schema.json").read_text())
    Draft202012Validator(schema).validate(data)
    items = {g["item"]: g["status"] for g in data["gate"]}
    assert set(items) == set(GATE_ITEMS)
    # Only health ran: no security evidence, so that item is "not evaluated", never "pass".
    security = next(name for name in items if name.startswith("Security"))
    assert items[security] == "not evaluated"
    md = (gate.report_dir / "gate.md").read_text()
    assert "not evaluated" in md
    result.stdout.fnmatch_lines(["*BASB quality gate*", "kit *pass*", "verdict: PASS*", "report: *gate.json"])
