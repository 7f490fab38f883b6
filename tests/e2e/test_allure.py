"""Allure results of a gate run render with the npm `allure` package, with labels and evidence."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, ROGUE_SERVER, SERVERS, Gate

ALLURE_CLI = SERVERS / "node" / "node_modules" / "allure" / "cli.js"


@pytest.mark.skipif(not ALLURE_CLI.exists() or shutil.which("node") is None, reason="make test installs allure")
def test_allure_results_render_with_counts_labels_and_exchange(gate: Gate, tmp_path: Path) -> None:
    results, html = tmp_path / "allure-results", tmp_path / "allure-html"
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit: {{transport: stdio, command: ["python", "{GOOD_SERVER}"]}}
          rogue:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "bad-schema"]
    """)
    result = gate.run("-m", "health or smoke", f"--alluredir={results}")
    outcomes = result.parseoutcomes()
    subprocess.run(
        ["node", str(ALLURE_CLI), "generate", str(results), "--output", str(html)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    stats = json.loads((html / "summary.json").read_text())["stats"]
    assert stats.get("failed", 0) == outcomes.get("failed", 0) > 0
    assert stats.get("passed", 0) == outcomes.get("passed", 0)
    assert stats["total"] == sum(outcomes.get(k, 0) for k in ("passed", "failed", "skipped"))

    raw = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    failed = next(r for r in raw if r["name"] == "test_tool_schemas[rogue]")
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {
        ("epic", "BASB"),
        ("feature", "rogue"),
        ("story", "smoke"),
        ("tag", "check:smoke.tool_schemas"),
        ("tag", "env:t"),
    } <= labels
    attachments = {a["name"]: a["source"] for a in failed.get("attachments", [])}
    assert "MCP exchange" in attachments
    exchange = json.loads((results / attachments["MCP exchange"]).read_text())
    assert any('"tools/list"' in m["msg"] for m in exchange["messages"])
    for name in ("environment.properties", "categories.json"):
        assert (results / name).exists(), name
