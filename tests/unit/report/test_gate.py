"""Gate verdict, gate items, gate.json (against its schema), gate.md and the terminal table."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.report.gate import (
    ACCESSIBILITY,
    CI_CD,
    DEPLOYED,
    GATE_ITEMS,
    INCIDENT,
    MONITORING,
    SECURITY,
    GateReport,
    ServiceSummary,
    build_gate,
)
from pytest_basb.report.gate_files import gate_dict, gate_md_lines, terminal_table, write_gate_json, write_gate_md

T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)


SERVICES = (ServiceSummary("search", "search", "streamable-http"), ServiceSummary("capture", "capture", "stdio"))


def check(
    check_id: str, service: str, outcome: str = "pass", message: str | None = None, **evidence: Any
) -> CheckResult:
    severity = "warn" if outcome == "warn" else "fail"
    nodeid = f"suites/{check_id.split('.')[0]}/test_x.py::test_{check_id.split('.')[-1]}[{service}]"
    return CheckResult.from_dict(
        {
            "id": check_id,
            "service": service,
            "outcome": outcome,
            "severity": severity,
            "message": message,
            "evidence": evidence,
            "nodeid": nodeid,
            "duration_s": 0.01,
        }
    )


def healthy(service: str) -> list[CheckResult]:
    return [
        check(
            "health.handshake",
            service,
            server={"name": f"basb-{service}", "version": "1.0.0"},
            protocol_version="2026-07-28",
        ),
        check("health.liveness", service),
        check("smoke.tools_listed", service),
    ]


def gate(
    results: list[CheckResult],
    *,
    services: tuple[ServiceSummary, ...] = SERVICES,
    runbooks_dir: Path | None = None,
    ci_ok: bool | None = None,
) -> GateReport:
    return build_gate(
        results,
        environment="local",
        services=services,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=9.25),
        runbooks_dir=runbooks_dir,
        ci_ok=ci_ok,
    )


def item(report: GateReport, name: str) -> str:
    return next(g.status for g in report.gate if g.item == name)


def schema() -> dict[str, Any]:
    text = resources.files("pytest_basb").joinpath("schemas/gate-report.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_all_healthy_passes_with_unevidenced_items_not_evaluated() -> None:
    report = gate(healthy("capture") + healthy("search"))
    assert report.verdict == "pass"
    assert [s.status for s in report.services] == ["pass", "pass"]
    assert item(report, DEPLOYED) == "pass"
    assert item(report, ACCESSIBILITY) == "pass"
    # No security, monitoring, CI or runbook evidence in this run: never "pass".
    for name in (SECURITY, MONITORING, CI_CD, INCIDENT):
        assert item(report, name) == "not evaluated"
    assert [g.item for g in report.gate] == list(GATE_ITEMS)


@pytest.mark.parametrize("outcome", ["fail", "error"])
def test_a_fail_or_error_fails_service_and_verdict(outcome: str) -> None:
    report = gate([*healthy("capture"), *healthy("search"), check("smoke.call", "search", outcome, "boom")])
    assert report.verdict == "fail"
    assert {s.id: s.status for s in report.services} == {"capture": "pass", "search": "fail"}
    assert item(report, ACCESSIBILITY) == "fail"
    assert item(report, DEPLOYED) == "pass"  # the health suite itself passed everywhere


def test_warnings_and_skips_do_not_fail_the_verdict() -> None:
    results = [*healthy("capture"), *healthy("search"), check("smoke.tool_names", "search", "warn", "odd name")]
    results.append(check("health.http_health", "capture", "skip", "no health_url"))
    report = gate(results)
    assert report.verdict == "pass"
    assert report.summary == {"pass": 6, "fail": 0, "warn": 1, "error": 0, "skip": 1, "waived": 0}
    assert item(report, MONITORING) == "not evaluated"  # a skipped check is no evidence


def test_result_of_an_unlisted_service_still_counts() -> None:
    report = gate([*healthy("capture"), check("health.handshake", "ghost", "error", "refused")], services=())
    assert [s.id for s in report.services] == ["capture", "ghost"]
    assert report.verdict == "fail"


def test_listed_service_without_checks_is_not_evaluated_and_blocks_deployed_pass() -> None:
    report = gate(healthy("capture"))  # "search" is in the inventory but nothing ran against it
    assert {s.id: s.status for s in report.services} == {"capture": "pass", "search": "not evaluated"}
    assert report.verdict == "pass"
    assert item(report, DEPLOYED) == "not evaluated"
    assert any("search" in e for e in next(g for g in report.gate if g.item == DEPLOYED).evidence)


@pytest.mark.parametrize(
    "results",
    [
        [],
        [check("basb.capture.inbox_front_matter", "capture")],
        [
            check(i, "capture", "skip", "deselected")
            for i in ("health.handshake", "smoke.call", "security.auth_required")
        ],
    ],
    ids=["nothing", "only-role-suite", "only-skips"],
)
def test_items_without_evidence_are_never_pass(results: list[CheckResult]) -> None:
    report = gate(results)
    assert all(g.status == "not evaluated" for g in report.gate), [(g.item, g.status) for g in report.gate]


def test_monitoring_and_security_evidence() -> None:
    base = healthy("capture") + healthy("search")
    ok = gate([*base, check("health.http_health", "search"), check("security.auth_required", "search")])
    # A health endpoint is no monitoring evidence: only the monitoring-stack checks are.
    assert (item(ok, MONITORING), item(ok, SECURITY)) == ("not evaluated", "pass")
    bad = gate(
        [*base, check("monitoring.metrics", "search", "fail", "stale"), check("security.origin", "search", "fail")]
    )
    assert (item(bad, MONITORING), item(bad, SECURITY)) == ("fail", "fail")


def test_ci_item_follows_ci_ok() -> None:
    assert item(gate([], ci_ok=True), CI_CD) == "pass"
    assert item(gate([], ci_ok=False), CI_CD) == "fail"
    assert item(gate([], ci_ok=None), CI_CD) == "not evaluated"


def test_incident_item_needs_a_runbook_per_failing_check(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    failing = [*healthy("capture"), check("health.liveness", "search", "fail"), check("smoke.call", "search", "error")]
    (runbooks / "health.liveness.md").write_text("# liveness\n")
    report = gate(failing, runbooks_dir=runbooks)
    incident = next(g for g in report.gate if g.item == INCIDENT)
    assert incident.status == "fail"
    assert incident.evidence == (f"missing runbook: {runbooks / 'smoke.call.md'}",)
    (runbooks / "smoke.call.md").write_text("# call\n")
    assert item(gate(failing, runbooks_dir=runbooks), INCIDENT) == "pass"
    assert item(gate(healthy("capture"), runbooks_dir=runbooks), INCIDENT) == "pass"
    assert item(gate(failing, runbooks_dir=tmp_path / "absent"), INCIDENT) == "not evaluated"


def test_server_facts_come_from_the_handshake_unless_given() -> None:
    given = ServiceSummary("capture", server_name="from-inventory", server_version=None)
    report = gate(healthy("capture"), services=(given,))
    summary = report.services[0].summary
    assert (summary.server_name, summary.server_version, summary.protocol_version) == (
        "from-inventory",
        "1.0.0",
        "2026-07-28",
    )


def test_schema_is_valid_and_gate_json_validates(tmp_path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    for results in ([], healthy("capture"), [*healthy("search"), check("smoke.call", "search", "error", "x")]):
        path = write_gate_json(gate(results, ci_ok=True), tmp_path / "out" / "gate.json")
        data = json.loads(path.read_text())
        validator.validate(data)
    assert data["verdict"] == "fail"
    assert data["services"][1] == {
        "id": "search",
        "status": "fail",
        "role": "search",
        "transport": "streamable-http",
        "server": {"name": "basb-search", "version": "1.0.0"},
        "protocol_version": "2026-07-28",
        "counts": {"health": {"pass": 2}, "smoke": {"error": 1, "pass": 1}},
    }
    assert {"item", "status", "evidence"} == set(data["gate"][0])


def test_schema_rejects_what_the_contract_forbids() -> None:
    data = gate_dict(gate(healthy("capture")))
    validator = jsonschema.Draft202012Validator(schema())
    for path, bad in ((("verdict",), "maybe"), (("gate", 0, "status"), "ok"), (("checks", 0, "outcome"), "passed")):
        broken = json.loads(json.dumps(data))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        assert not validator.is_valid(broken), path


def test_same_results_give_identical_files(tmp_path: Path) -> None:
    results = [
        *healthy("capture"),
        *healthy("search"),
        check("smoke.call", "search", "fail", "bad", b=1, a={"z": 1, "y": 2}),
    ]
    shuffled = results[::-1]
    random.Random(7).shuffle(shuffled)
    outputs = []
    for name, batch in (("a", results), ("b", shuffled)):
        report = gate(batch, services=SERVICES if name == "a" else SERVICES[::-1])
        outputs.append(
            (
                write_gate_json(report, tmp_path / name / "gate.json").read_bytes(),
                write_gate_md(report, tmp_path / name / "gate.md").read_bytes(),
            )
        )
    assert outputs[0] == outputs[1]
    checks = json.loads(outputs[0][0])["checks"]
    assert [(c["service"], c["id"]) for c in checks] == sorted((c["service"], c["id"]) for c in checks)
    call = next(c for c in checks if c["id"] == "smoke.call")
    assert list(call["evidence"]) == ["a", "b"]  # evidence keys sorted too
    assert list(call["evidence"]["a"]) == ["y", "z"]


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text("old")
    write_gate_json(gate(healthy("capture")), path)
    write_gate_md(gate(healthy("capture")), tmp_path / "gate.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gate.json", "gate.md"]
    assert json.loads(path.read_text())["version"] == 1


def test_gate_md_has_verdict_gate_table_service_counts_and_failures(tmp_path: Path) -> None:
    results = [*healthy("capture"), *healthy("search"), check("smoke.call", "search", "fail", "got [[x]] | #tag <b>")]
    results.append(check("smoke.tool_names", "search", "warn", "name"))
    text = write_gate_md(gate(results), tmp_path / "gate.md").read_text()
    assert "**Verdict: ❌ FAIL**" in text
    for name in GATE_ITEMS:
        assert f"| {name} |" in text
    assert "| Item | Status | Evidence |" in text
    header = next(line for line in text.splitlines() if line.startswith("| Service |"))
    assert header.endswith("| health | smoke | basb | security | regression |")
    search_row = next(line for line in text.splitlines() if line.startswith("| `search` |"))
    # health 2 pass; smoke 1 pass / 1 fail / 1 warn; basb, security and regression did not run.
    assert search_row.endswith("| 2 / 0 / 0 | 1 / 1 / 1 | — | — | — |")
    assert "- `smoke.call` on `search` (fail): `got [[x]] | #tag <b>`" in text


def test_terminal_table_one_line_per_service_then_verdict() -> None:
    results = [*healthy("capture"), *healthy("search"), check("security.auth_required", "search", "fail")]
    lines = terminal_table(gate(results))
    assert lines[0].split() == ["service", "health", "smoke", "basb", "security", "regression"]
    assert lines[1].split() == ["capture", "pass", "pass", "—", "—", "—"]
    assert lines[2].split() == ["search", "pass", "pass", "—", "FAIL", "—"]
    assert "suites: health, smoke, security" in lines
    assert lines[-1].startswith("verdict: FAIL (local) — 1 failing check;")


def test_one_root_cause_is_reported_once_and_the_rest_counted_as_blocked(tmp_path: Path) -> None:
    cause = "cannot reach http://10.0.0.9/mcp: connection refused"
    results = [
        *healthy("capture"),
        check("health.handshake", "search", "fail", cause),
        check("health.liveness", "search", "fail", f"blocked by health.handshake: {cause}"),
        check("smoke.tools_listed", "search", "fail", f"blocked by health.handshake: {cause}"),
        check("smoke.call", "search", "fail", f"blocked by health.handshake: {cause}"),
    ]
    (tmp_path / "health.handshake.md").write_text("# runbook\n")
    report = gate(results, runbooks_dir=tmp_path)
    assert [c.id for c in report.root_failures] == ["health.handshake"]
    assert len(report.failures) == 4  # still counted
    lines = terminal_table(report)
    assert lines[2].split()[:3] == ["search", "FAIL", "blocked"]
    assert f"failing: health.handshake on search — runbook: {tmp_path / 'health.handshake.md'}" in lines
    assert "blocked: 3 checks on search blocked by health.handshake" in lines
    assert any(line.startswith("legend: ") and "pass(warn)" in line for line in lines)
    assert any(line.startswith("not evaluated: CI/CD pipelines") for line in lines)
    md = "\n".join(gate_md_lines(report))
    assert md.count("connection refused") == 1
    assert "3 checks on search blocked by health.handshake" in md


def test_identical_launch_failures_of_one_service_count_as_one_cause() -> None:
    message = "launch of search failed: requires Node.js 22 or newer"
    results = [check(cid, "search", "fail", message) for cid in ("health.handshake", "health.liveness", "smoke.call")]
    report = gate(results)
    assert [c.id for c in report.root_failures] == ["health.handshake"]
    assert report.blocked == {
        ("search", "health.liveness", results[1].nodeid): "health.handshake",
        ("search", "smoke.call", results[2].nodeid): "health.handshake",
    }


def test_report_files_get_the_usual_mode(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = write_gate_md(gate([*healthy("capture")]), tmp_path / "gate.md")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


STACK = [
    check("monitoring.targets", "capture"),
    check("monitoring.targets", "search"),
    check("monitoring.rules", "@t"),
    check("monitoring.alerting", "@t"),
    check("monitoring.gate_metrics", "@t"),
]


def item_evidence(report: GateReport, name: str) -> str:
    return "\n".join(next(g for g in report.gate if g.item == name).evidence)


def test_monitoring_item_passes_only_on_every_stack_check() -> None:
    base = healthy("capture") + healthy("search")
    report = gate([*base, *STACK])
    assert item(report, MONITORING) == "pass"
    assert [s.id for s in report.services] == ["capture", "search"]  # `@t` is no service row
    assert item(report, DEPLOYED) == "pass"
    without_alerting = gate([*base, *(c for c in STACK if c.id != "monitoring.alerting")])
    assert item(without_alerting, MONITORING) == "not evaluated"
    assert "did not run: monitoring.alerting" in item_evidence(without_alerting, MONITORING)
    one_service = gate([*base, *STACK[1:]])
    assert item(one_service, MONITORING) == "not evaluated"
    assert "monitoring.targets did not run for: capture" in item_evidence(one_service, MONITORING)


def test_monitoring_item_failure_names_the_check_message_and_runbook(tmp_path: Path) -> None:
    (tmp_path / "monitoring.rules.md").write_text("# runbook\n")
    failing = check("monitoring.rules", "@t", "fail", "rule X (group g) is broken: boom")
    report = gate([*STACK[:2], failing, *STACK[3:]], runbooks_dir=tmp_path)
    assert item(report, MONITORING) == "fail"
    line = f"monitoring.rules on @t: rule X (group g) is broken: boom (runbook: {tmp_path / 'monitoring.rules.md'})"
    assert line in item_evidence(report, MONITORING)
    assert report.verdict == "fail"


def test_monitoring_item_without_monitoring_block_is_not_evaluated_never_pass() -> None:
    report = gate([*healthy("capture"), check("monitoring.metrics", "capture")])
    assert item(report, MONITORING) == "not evaluated"
    assert "add `monitoring:" in item_evidence(report, MONITORING)
