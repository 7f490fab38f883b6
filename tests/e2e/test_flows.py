"""Declared flows against real servers: the reference services across a vault, the test kit server
for failures, retries and clean-up, a server that never starts, bad flows, and a run under -n 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GOOD_SERVER, REPO, Gate

SERVICES = REPO / "fixtures" / "services"
SEED_VAULT = REPO / "fixtures" / "sample-vault"


def flow_checks(gate: Gate) -> dict[str, dict[str, Any]]:
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    return {c["id"]: c for c in checks if c["id"].startswith("flow.")}


def reference(name: str, vault: Path) -> str:
    return (
        f"      {name}: {{transport: stdio, timeout_s: 90, env: {{BASB_VAULT: '{vault}'}},"
        f" command: [python, '{SERVICES / f'{name}.py'}']}}\n"
    )


def test_a_flow_across_reference_services_writes_finds_and_cleans_up(gate: Gate, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(SEED_VAULT, vault)
    gate.write(
        "version: 1\nenvironments:\n  t:\n    services:\n"
        + reference("capture", vault)
        + reference("search", vault)
        + reference("organize", vault)
        + """    flows:
      capture-then-find:
        smoke: true
        steps:
          - id: capture
            service: capture
            tool: capture_note
            arguments: {title: "Probe {{ uid }}", body: "probe {{ uid }} of {{ run_id }}"}
            save: {path: /structuredContent/path}
          - id: find
            service: search
            tool: search
            arguments: {query: "{{ uid }}"}
            retry: {within_s: 10, every_s: 0.2}
            expect: {contains: "{{ steps.capture.path }}", equals: {pointer: /structuredContent/count, value: 1}}
          - id: archive
            service: organize
            tool: move_note
            arguments: {path: "{{ steps.capture.path }}", bucket: archives}
            always: true
"""
    )
    result = gate.run("-m", "flow", "-v")
    result.stdout.fnmatch_lines(["*test_flow?capture:capture-then-find? PASSED*"])
    result.stdout.fnmatch_lines(["flow data: flow.capture-then-find wrote data; clean-up passed"])
    assert result.ret == 0
    check = flow_checks(gate)["flow.capture-then-find"]
    assert check["outcome"] == "pass"
    assert check["service"] == "capture"
    evidence = check["evidence"]
    assert [s["outcome"] for s in evidence["steps"]] == ["pass", "pass", "pass"]
    assert evidence["wrote_data"] is True
    assert evidence["cleanup_passed"] is True
    uid = evidence["uid"]
    # The probe note was written, then moved out of the inbox by the clean-up step.
    assert not [p for p in (vault / "00 Inbox").glob("*.md") if uid in p.read_text()]
    assert len([p for p in (vault / "4 Archives").glob("*.md") if uid in p.read_text()]) == 1
    assert "## Flows that wrote data" in (gate.report_dir / "gate.md").read_text()


FAILING_FLOW = """
version: 1
environments:
  t:
    services:
      kit:
        transport: stdio
        timeout_s: 90
        command: [python, "{server}"]
    flows:
      broken:
        steps:
          - id: first
            service: kit
            tool: echo
            arguments: {{text: "hello {{{{ uid }}}}"}}
            save: {{text: /structuredContent/text}}
          - id: check
            service: kit
            tool: echo
            arguments: {{text: "token ${{FLOW_SECRET}} {{{{ steps.first.text }}}}"}}
            expect: {{contains: "nowhere"}}
            save: {{echoed: /structuredContent/text}}
          - id: later
            service: kit
            tool: add
            arguments: {{a: 1, b: 2}}
          - id: clean
            service: kit
            tool: echo
            arguments: {{text: "remove {{{{ steps.first.text }}}}"}}
            always: true
          - id: clean_echoed
            service: kit
            tool: echo
            arguments: {{text: "{{{{ steps.check.echoed }}}}"}}
            always: true
"""


def test_a_failing_step_names_step_request_and_answer_and_clean_up_still_runs(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_SECRET", "s3cr3t-flow-value")
    gate.write(FAILING_FLOW.format(server=GOOD_SERVER))
    allure_dir = gate.path / "allure-results"
    result = gate.run("-m", "flow", f"--alluredir={allure_dir}")
    assert result.ret == 1
    out = result.stdout.str()
    assert "s3cr3t-flow-value" not in out + (gate.report_dir / "gate.json").read_text()
    check = flow_checks(gate)["flow.broken"]
    message = check["message"]
    assert message.startswith('step check (kit echo): the answer does not contain "nowhere"; request: echo {'), message
    assert '"text": "token ' in message
    assert "answer: {" in message
    assert '"structuredContent"' in message
    assert "flow.broken [kit]: step check (kit echo)" in out
    outcomes = {s["id"]: s["outcome"] for s in check["evidence"]["steps"]}
    # Clean-up runs after the failure; the one whose input was never saved has nothing to clean.
    assert outcomes == {"first": "pass", "check": "fail", "later": "not run", "clean": "pass", "clean_echoed": "skip"}
    assert check["evidence"]["cleanup_passed"] is True
    # Allure: one step per call, failed where the flow failed, each with its MCP exchange.
    (raw,) = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
    steps = {step["name"]: step for step in raw["steps"]}
    assert list(steps) == ["first: echo on kit (pass)", "check: echo on kit (fail)", "clean: echo on kit (pass)"]
    assert steps["check: echo on kit (fail)"]["status"] == "failed"
    exchange = next(
        a["source"] for a in steps["check: echo on kit (fail)"]["attachments"] if a["name"] == "MCP exchange"
    )
    messages = json.loads((allure_dir / exchange).read_text())["messages"]
    assert any('"tools/call"' in m["msg"] and "nowhere" not in m["msg"] for m in messages)
    assert "s3cr3t-flow-value" not in "".join(p.read_text() for p in allure_dir.iterdir())


RETRY_FLOWS = """
version: 1
environments:
  t:
    services:
      flaky:
        transport: stdio
        timeout_s: 90
        command: [python, "{server}", --flaky]
    flows:
      eventually:
        steps:
          - {{id: warm, service: flaky, tool: echo, arguments: {{text: one}}}}
          - id: again
            service: flaky
            tool: echo
            arguments: {{text: two}}
            retry: {{within_s: 20, every_s: 0.1}}
            expect: {{equals: {{pointer: /structuredContent/text, value: two}}}}
      never:
        steps:
          - id: doomed
            service: flaky
            tool: fail_always
            retry: {{within_s: 0.6, every_s: 0.2}}
"""


def test_retry_until_the_answer_holds_and_a_retry_that_runs_out(gate: Gate) -> None:
    gate.write(RETRY_FLOWS.format(server=GOOD_SERVER))
    result = gate.run("-m", "flow")
    assert result.ret == 1
    checks = flow_checks(gate)
    eventually = checks["flow.eventually"]
    assert eventually["outcome"] == "pass", eventually["message"]
    # Every second echo of the flaky server fails: the retried step needed its second attempt.
    assert [s["attempts"] for s in eventually["evidence"]["steps"]] == [1, 2]
    never = checks["flow.never"]
    assert never["outcome"] == "fail"
    attempts = never["evidence"]["steps"][0]["attempts"]
    assert attempts >= 2
    assert f"step doomed (flaky fail_always) after {attempts} attempts in" in never["message"]
    assert "the call failed" in never["message"]


def test_a_flow_through_a_service_that_is_down_is_blocked_by_its_handshake(gate: Gate) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit:
            transport: stdio
            timeout_s: 90
            command: [python, "{GOOD_SERVER}"]
          down:
            transport: stdio
            command: [python, -c, "import sys; sys.exit(3)"]
        flows:
          across:
            steps:
              - {{id: hello, service: kit, tool: echo, arguments: {{text: hi}}}}
              - {{id: there, service: down, tool: echo, arguments: {{text: hi}}}}
    """)
    result = gate.run("-m", "flow or health")
    assert result.ret == 1
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    by_key = {(c["id"], c["service"]): c for c in checks}
    flow = by_key[("flow.across", "down")]
    handshake = by_key[("health.handshake", "down")]
    assert flow["message"].startswith("blocked by health.handshake: "), flow["message"]
    assert handshake["outcome"] == "fail"
    assert not handshake["message"].startswith("blocked by")
    assert "hello" not in json.dumps(flow["evidence"])  # no step ran: nothing was written
    result.stdout.fnmatch_lines(["blocked: * on down blocked by health.handshake"])


BAD_FLOWS = {
    "syntax": ('{id: a, service: kit, tool: echo, arguments: {text: "{{ uid "}}', "template syntax error"),
    "service": ("{id: a, service: kitt, tool: echo}", "no service `kitt`"),
    "saved": ('{id: a, service: kit, tool: echo, arguments: {text: "{{ steps.a.text }}"}}', "runs at or after"),
    "variable": ('{id: a, service: kit, tool: echo, arguments: {text: "{{ user }}"}}', "`user`, which is not defined"),
    "step-id": ("{id: a-b, service: kit, tool: echo}", "not a valid step or saved name"),
}


@pytest.mark.parametrize("case", sorted(BAD_FLOWS))
def test_a_bad_flow_is_an_inventory_error(gate: Gate, case: str) -> None:
    step, fragment = BAD_FLOWS[case]
    gate.write(
        "version: 1\nenvironments:\n  t:\n    services:\n      kit: {transport: stdio, command: [python, s.py]}\n"
        f"    flows:\n      f1:\n        steps:\n          - {step}\n"
    )
    result = gate.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert str(gate.inventory) in err
    assert "environments.t.flows.f1.steps.0" in err
    assert fragment in err, err
    assert "Traceback" not in err + result.stdout.str()


def test_smoke_selects_only_the_flows_that_say_smoke(gate: Gate) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit: {{transport: stdio, command: [python, "{GOOD_SERVER}"]}}
        flows:
          quick: {{smoke: true, steps: [{{id: a, service: kit, tool: echo, arguments: {{text: x}}}}]}}
          slow: {{steps: [{{id: a, service: kit, tool: echo, arguments: {{text: x}}}}]}}
    """)
    smoke = gate.run("-m", "smoke", "--collect-only", "-q")
    flows = [line for line in smoke.stdout.lines if "test_flow[" in line]
    assert len(flows) == 1, smoke.stdout.lines
    assert "kit:quick" in flows[0]
    every = gate.run("-m", "flow", "--collect-only", "-q")
    assert sum("test_flow[" in line for line in every.stdout.lines) == 2


STARTS_LOGGER = """
import os, sys
with open(sys.argv[1], "a") as log:
    log.write(sys.argv[2] + "\\n")
os.execv(sys.executable, [sys.executable, *sys.argv[3:]])
"""


def test_under_xdist_the_services_of_a_flow_share_a_worker(gate: Gate, tmp_path: Path) -> None:
    """Each stdio server of the flow starts once: the flow runs on the worker that owns them all."""
    logger, starts = tmp_path / "starts.py", tmp_path / "starts.log"
    logger.write_text(STARTS_LOGGER)
    services = "".join(
        f"      {name}: {{transport: stdio, timeout_s: 90,"
        f" command: {json.dumps(['python', str(logger), str(starts), name, str(GOOD_SERVER)])}}}\n"
        for name in ("one", "two")
    )
    gate.write(
        "version: 1\nenvironments:\n  t:\n    services:\n"
        + services
        + "    flows:\n      both:\n        steps:\n"
        + "          - {id: a, service: one, tool: echo, arguments: {text: x}}\n"
        + "          - {id: b, service: two, tool: add, arguments: {a: 1, b: 2},"
        + " expect: {equals: {pointer: /structuredContent/sum, value: 3}}}\n"
    )
    result = gate.run_subprocess("-n", "2", "-m", "flow or health or smoke", timeout=240)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert flow_checks(gate)["flow.both"]["outcome"] == "pass"
    assert sorted(starts.read_text().split()) == ["one", "two"]
