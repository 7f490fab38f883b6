"""Scope honesty: a run that checked less than its suites says so; a run that checked nothing too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import GOOD_SERVER, SUITES, Gate, free_port

INVENTORY = f"""
version: 1
environments:
  t:
    services:
      kit:
        transport: stdio
        command: ["python", "{GOOD_SERVER}"]
        smoke: [{{tool: echo, arguments: {{text: hi}}}}]
      kat:
        transport: stdio
        command: ["python", "{GOOD_SERVER}"]
"""


def _gate_json(gate: Gate) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((gate.report_dir / "gate.json").read_text())
    return document


def _logs(vault: Path) -> list[Path]:
    return list((vault / "agent-workspaces" / "DevOps" / "deply-notes").glob("* dev-ops-log.md"))


def test_marker_selection_is_a_full_run_of_those_suites(gate: Gate, tmp_path: Path) -> None:
    gate.write(INVENTORY)
    vault = tmp_path / "vault"
    result = gate.run("-m", "health", f"--basb-vault={vault}")
    scope = _gate_json(gate)["scope"]
    assert scope["full"] is True, scope
    assert scope["suites"] == ["health"]
    assert scope["services"] == {"checked": 2, "total": 2}
    result.stdout.fnmatch_lines(["suites: health", "verdict: PASS (t)*"])
    assert len(_logs(vault)) == 1  # a full run is logged


def test_keyword_run_is_partial_everywhere_and_kept_out_of_the_log(gate: Gate, tmp_path: Path) -> None:
    gate.write(INVENTORY)
    vault = tmp_path / "vault"
    full = gate.run("-m", "health")
    total = _gate_json(gate)["scope"]["checks"]["total"]
    result = gate.run("-m", "health", "-k", "kit and handshake", f"--basb-vault={vault}")
    document = _gate_json(gate)
    scope = document["scope"]
    assert scope["full"] is False
    assert scope["services"] == {"checked": 1, "total": 2}
    assert scope["checks"] == {"selected": 1, "total": total}
    assert scope["reasons"] == ["-k kit and handshake"]
    label = f"PASS (partial: 1/2 services, 1/{total} checks)"
    result.stdout.fnmatch_lines([f"verdict: {label} (t)*", "*DevOps log: not written (a partial run*"])
    assert f"**Verdict: ✅ {label}**" in (gate.report_dir / "gate.md").read_text()
    assert _logs(vault) == []
    assert full.ret == 0
    gate.run("-m", "health", "-k", "kit and handshake", f"--basb-vault={vault}", "--basb-log=always")
    (log,) = _logs(vault)
    assert label in log.read_text()


def test_a_full_and_a_partial_run_are_one_row_each_and_only_the_full_one_is_summed(gate: Gate, tmp_path: Path) -> None:
    from pytest_basb.obsidian.weekly import read_week

    gate.write(INVENTORY)
    vault = tmp_path / "vault"
    gate.run("-m", "health", f"--basb-vault={vault}")
    full = _gate_json(gate)["summary"]
    gate.run("-m", "health", "-k", "kit and handshake", f"--basb-vault={vault}", "--basb-log=always")
    (log,) = _logs(vault)
    text = log.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 2, rows  # one compact entry per run, details folded beside it
    assert " | full: 2/2 services" in rows[0]
    assert " | partial: 1/2 services" in rows[1]
    assert text.count("> [!note]- Run ") == 2
    front = yaml.safe_load(text.split("---\n")[1])
    assert (front["runs"], front["runs_partial"]) == (1, 1)
    assert (front["passed"], front["failed"]) == (full["pass"], full["fail"] + full["error"])
    assert "count full runs only" in text  # the note says so
    (day,) = read_week(vault, *front["date"].isocalendar()[:2])
    assert [run.run for run in day.runs] == [1]  # the weekly summary reads the full run only


def test_narrower_test_path_is_partial(gate: Gate) -> None:
    gate.write(INVENTORY)
    args = gate.args("-m", "health")
    args[0] = str(SUITES / "health" / "test_health.py")
    gate.pytester.runpytest(*args)
    scope = _gate_json(gate)["scope"]
    assert scope["full"] is False
    assert scope["reasons"] == [f"test path {SUITES / 'health' / 'test_health.py'}"]
    assert scope["checks"]["total"] is None


def test_a_run_that_checked_nothing_replaces_the_stale_report(gate: Gate) -> None:
    gate.write(INVENTORY)
    gate.report_dir.mkdir()
    (gate.report_dir / "gate.json").write_text('{"verdict": "fail", "environment": "other"}')
    result = gate.run("-k", "no_such_check")
    assert result.ret == 5  # pytest's own "no tests ran"
    document = _gate_json(gate)
    assert document["verdict"] == "none"
    assert document["environment"] == "t"
    assert document["checks"] == []
    assert "Nothing was checked" in (gate.report_dir / "gate.md").read_text()
    result.stdout.fnmatch_lines(["verdict: NOTHING CHECKED (t)*"])


def test_an_unreachable_service_fails_once_and_blocks_the_rest(gate: Gate) -> None:
    port = free_port()
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          gone: {{transport: streamable-http, url: "http://127.0.0.1:{port}/mcp", timeout_s: 5}}
    """)
    result = gate.run("-m", "health or smoke", "--basb-target=live")
    document = _gate_json(gate)
    failing = [c for c in document["checks"] if c["outcome"] in ("fail", "error")]
    assert [c["id"] for c in failing] == ["health.handshake"]
    blocked = [c for c in document["checks"] if c.get("blocked_by") == "health.handshake"]
    assert len(blocked) > 3
    assert all(c["outcome"] == "skip" for c in blocked)
    assert result.ret == 1  # the cause fails the verdict
    text = result.stdout.str()
    table = text[text.index("BASB quality gate") :]
    assert table.count("failing: ") == 1, table
    result.stdout.fnmatch_lines(["blocked: * checks on gone blocked by *"])
    md = (gate.report_dir / "gate.md").read_text()
    assert md.split("## Failures")[1].count("\n- ") == 2, md  # the cause, then one blocked line


def test_collect_only_lists_the_checks_and_writes_nothing(gate: Gate) -> None:
    gate.write(INVENTORY)
    result = gate.run("--collect-only", "-q", "-m", "health")
    result.stdout.fnmatch_lines(["*test_handshake?kat?"])
    result.stdout.fnmatch_lines(["*test_handshake?kit?"])
    assert not gate.report_dir.exists()


def test_suites_that_m_drops_are_not_built_per_service(gate: Gate) -> None:
    """A large fleet pays for every collected item: a test -m drops is built once, not once per
    service, so what -m drops does not grow with the fleet; what it keeps still does."""
    one_service = INVENTORY.split("      kat:")[0]
    counts = {}
    for name, inventory in (("one", one_service), ("two", INVENTORY)):
        gate.write(inventory)
        result = gate.run("--collect-only", "-q", "-m", "health")
        counts[name] = (sum("::" in line for line in result.outlines), result.parseoutcomes()["deselected"])
    assert counts["two"][0] == 2 * counts["one"][0], counts  # health checks: one per service
    assert counts["two"][1] == counts["one"][1], counts  # everything else: one item per test


def test_a_marker_a_conftest_adds_still_selects_every_service(gate: Gate, pytester: pytest.Pytester) -> None:
    """-m with a marker of the project's own (added to items by a hook) is evaluated by pytest on the
    built items, so every service's check is there to be chosen."""
    gate.write(INVENTORY)
    pytester.syspathinsert()
    pytester.makepyfile(
        critical_marks="""
        import pytest

        def pytest_configure(config):
            config.addinivalue_line("markers", "critical: checks a release cannot do without")

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name.startswith("test_handshake["):
                    item.add_marker(pytest.mark.critical)
    """
    )
    result = gate.run("-p", "critical_marks", "-m", "critical")
    result.assert_outcomes(passed=2)
    assert {(c["service"], c["id"]) for c in _gate_json(gate)["checks"]} == {
        ("kit", "health.handshake"),
        ("kat", "health.handshake"),
    }
