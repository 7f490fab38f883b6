"""The regression suite against a real server: record a baseline, then compare changed servers with it.

The server is tests/servers/good_server.py; its variant flags change one thing each (a tool
removed or added, a new required argument, a rewritten description, a changed result, a slow or
flaky tool). Echo sleeps 50 ms in every variant, so its latency budget (about 2 × 50 ms) leaves
room for a busy machine, while the slow variant (400 ms) is far over it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GOOD_SERVER, Gate

REPEAT = "--basb-repeat=3"
BASE_FLAGS = ["--delay-ms", "50"]


def inventory(*flags: str) -> str:
    command = json.dumps(["python", str(GOOD_SERVER), *BASE_FLAGS, *flags])
    return f"""
    version: 1
    environments:
      t:
        services:
          kit:
            transport: stdio
            command: {command}
            smoke:
              - tool: echo
                arguments: {{text: hello}}
                golden: true
              - tool: echo
                arguments: {{text: volatile}}
                golden: true
                ignore: [/length]
              - tool: add
                arguments: {{a: 1, b: 2}}
                golden: true
                latency: {{p95_ms: 5000}}
    """


def run(gate: Gate, *extra: str) -> pytest.RunResult:
    return gate.run("-m", "regression", REPEAT, f"--basb-baseline-dir={gate.path / 'bl'}", "-v", "-rs", *extra)


def outcomes(gate: Gate) -> dict[str, tuple[str, str | None]]:
    """'<check id> <call>' -> (outcome, message), from the gate.json the run wrote."""
    data = json.loads((gate.report_dir / "gate.json").read_text())
    found = {}
    for check in data["checks"]:
        call = check["nodeid"].split("[", 1)[1].rstrip("]")
        found[f"{check['id']} {call}"] = (check["outcome"], check["message"])
    return found


def record(gate: Gate) -> Path:
    gate.write(inventory())
    result = run(gate, "--basb-record-baseline")
    result.assert_outcomes(passed=12)
    path = gate.path / "bl" / "t" / "kit.json"
    assert path.is_file()
    return path


def test_missing_baseline_fails_naming_the_command_that_records_it(gate: Gate) -> None:
    gate.write(inventory())
    result = run(gate)
    # pytester runs in the rootdir, so the paths are relative to it, as a user there would type them
    command = (
        "pytest --basb-env=t -m regression --basb-record-baseline --basb-inventory=inv.yaml --basb-baseline-dir=bl"
    )
    found = outcomes(gate)
    assert found["regression.baseline kit"] == (
        "fail",
        f"no baseline at bl/t/kit.json; record one with: {command}",
    )
    needs_baseline = [key for key in found if key.split()[0] != "regression.baseline" and "flaky" not in key]
    assert {found[key][0] for key in needs_baseline} == {"skip"}
    assert {found[key][0] for key in found if "flaky" in key} == {"pass"}  # needs no baseline
    assert result.ret == 1


def test_record_under_xdist_then_an_unchanged_server_passes_without_warnings(gate: Gate) -> None:
    gate.write(inventory())
    recorded = gate.run_subprocess(
        "-m", "regression", REPEAT, f"--basb-baseline-dir={gate.path / 'bl'}", "--basb-record-baseline", "-n", "2"
    )
    recorded.assert_outcomes(passed=12)
    path = gate.path / "bl" / "t" / "kit.json"
    text = path.read_text()
    data: dict[str, Any] = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # stable order
    assert data["server"]["name"] == "basb-testkit"
    assert data["server"]["version"] == "1.2.3"
    assert data["server"]["transport"] == "stdio"
    assert sorted(data["surface"]["tools"]) == ["add", "echo", "fail_always"]
    assert data["golden"]['echo {"text": "hello"}']["structured_content"] == {"text": "hello", "length": 5}
    assert data["golden"]['echo {"text": "volatile"}']["structured_content"] == {"text": "volatile"}  # ignored
    assert sorted(data["latency"]) == sorted(data["golden"])
    assert data["latency"]['echo {"text": "hello"}']["samples"] == 3

    result = run(gate, "-W", "error::pytest_basb.run.harness.BasbCheckWarning")
    result.assert_outcomes(passed=12)
    assert {outcome for outcome, _ in outcomes(gate).values()} == {"pass"}
    assert path.read_text() == text  # comparing never writes


def test_additive_change_rug_pull_and_changed_result(gate: Gate) -> None:
    record(gate)
    gate.write(inventory("--add-tool", "--rewrite-description", "--changed-result"))
    result = run(gate)
    found = outcomes(gate)
    assert found["regression.surface kit"] == ("warn", "1 additive, 0 unclassified change(s): tool reverse: new tool")
    outcome, message = found["regression.descriptions kit"]
    assert outcome == "warn"
    assert message is not None
    assert 'tool echo: description changed: "Echo the text back with its length." → "Echo the text back' in message
    assert "read ~/.ssh/id_rsa" in message
    assert found["regression.golden kit:echo0"] == (
        "fail",
        'echo {"text": "hello"}: result differs from the baseline:\n  /length: expected 5, got 6',
    )
    assert found["regression.golden kit:echo1"] == ("pass", None)  # the same change, under `ignore: [/length]`
    assert found["regression.golden kit:add"][0] == "pass"
    assert found["regression.flaky kit:echo0"][0] == "pass"
    result.stdout.fnmatch_lines(['*regression.golden ?kit?: echo {"text": "hello"}: result differs*'])
    assert result.ret == 1


def test_breaking_changes_slow_and_flaky_calls_fail(gate: Gate) -> None:
    record(gate)
    gate.write(inventory("--drop-tool", "fail_always", "--require-arg", "--delay-ms", "400", "--flaky"))
    result = run(gate)
    found = outcomes(gate)
    outcome, message = found["regression.surface kit"]
    assert outcome == "fail"
    assert message is not None
    assert message.startswith("2 breaking change(s): ")
    assert "tool add: input `c`: new required property" in message
    assert "tool fail_always: removed (was: fail_always())" in message
    outcome, message = found["regression.latency kit:echo0"]
    assert outcome == "fail"
    assert "over max(2 × baseline p95" in str(message)
    outcome, message = found["regression.flaky kit:echo0"]
    assert outcome == "fail"
    assert "flaky: " in str(message)
    assert "echo failed on purpose" in str(message)
    assert found["regression.golden kit:add"][0] == "fail"  # add now refuses the call without `c`
    assert found["regression.latency kit:add"][0] == "pass"  # within its inventory budget and baseline
    result.stdout.fnmatch_lines(["*regression.surface ?kit?: 2 breaking change(s)*"])
    assert result.ret == 1


def test_repeat_must_be_positive(gate: Gate) -> None:
    gate.write(inventory())
    result = gate.run("-m", "regression", "--basb-repeat=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--basb-repeat: must be at least 1" in result.stderr.str()
