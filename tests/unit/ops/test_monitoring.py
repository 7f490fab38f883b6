"""Pure parts of monitoring and CI evidence: the metrics check, metrics.prom, events.jsonl, CI status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pytest_basb.checks.monitoring import metrics_endpoint
from pytest_basb.inventory.redaction import Redactor
from pytest_basb.model.results import CheckResult
from pytest_basb.ops.ci_status import CiStatusError, load_ci_status
from pytest_basb.report.events import DATASET, write_events
from pytest_basb.report.gate import CI_CD, GateReport, Scope, ServiceSummary, build_gate
from pytest_basb.report.metrics import METRIC_NAMES, gate_registry, write_metrics

T0 = datetime(2026, 11, 30, 8, 0, 0, tzinfo=UTC)


EXPOSITION = """# HELP basb_tool_calls_total MCP tool calls
# TYPE basb_tool_calls_total counter
basb_tool_calls_total{tool="search",outcome="ok"} 3.0
# HELP basb_vault_notes Notes
# TYPE basb_vault_notes gauge
basb_vault_notes 35.0
"""


URL = "http://127.0.0.1:1/metrics"


def test_metrics_check_passes_with_every_named_metric() -> None:
    result = metrics_endpoint(
        "s", URL, required=["basb_tool_calls_total", "basb_tool_calls", "basb_vault_notes"], status=200,
        body=EXPOSITION, error=None,
    )  # fmt: skip
    assert result.outcome == "pass", result.message
    assert result.evidence["samples"] == 2


def test_metrics_check_names_the_missing_metric() -> None:
    result = metrics_endpoint(
        "s", URL, required=["basb_vault_notes", "up_time"], status=200, body=EXPOSITION, error=None
    )
    assert result.outcome == "fail"
    assert "missing metric(s) up_time" in (result.message or "")
    assert result.evidence["missing"] == ["up_time"]


@pytest.mark.parametrize(
    ("status", "body", "error", "expected"),
    [
        (404, "not found", None, "answered 404, expected 2xx"),
        (None, None, "ConnectError: refused", "failed: ConnectError: refused"),
        (200, "this is { not prometheus\n", None, "not Prometheus text format"),
        (200, "", None, "holds no metrics"),
    ],
)
def test_metrics_check_fails_on_bad_endpoints(
    status: int | None, body: str | None, error: str | None, expected: str
) -> None:
    result = metrics_endpoint("s", URL, required=[], status=status, body=body, error=error)
    assert result.outcome == "fail"
    assert expected in (result.message or "")


def test_metrics_check_skips_without_url() -> None:
    result = metrics_endpoint("s", None, required=["x"], status=None, body=None, error=None)
    assert (result.outcome, result.message) == ("skip", "no metrics_url configured")


def report(results: list[CheckResult], *, ci_ok: bool | None = None) -> GateReport:
    return build_gate(
        results,
        environment="staging",
        services=[ServiceSummary("search"), ServiceSummary("vault"), ServiceSummary("idle")],
        started_at=T0,
        finished_at=T0 + timedelta(seconds=12),
        runbooks_dir=None,
        ci_ok=ci_ok,
    )


RESULTS = [
    CheckResult("health.handshake", "search", "pass", duration_s=0.25, nodeid="a"),
    CheckResult("smoke.call", "search", "pass", duration_s=0.5, nodeid="b1"),
    CheckResult("smoke.call", "search", "fail", duration_s=1.5, message="boom", nodeid="b2"),
    CheckResult("health.handshake", "vault", "pass", duration_s=0.125, nodeid="c"),
    CheckResult("health.handshake", "idle", "skip", nodeid="d"),
]


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families = text_string_to_metric_families(path.read_text())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_metrics_prom_holds_verdict_services_checks_and_timestamp(tmp_path: Path) -> None:
    path = write_metrics(gate_registry(report(RESULTS)), tmp_path / "out" / "metrics.prom")
    got = samples(path)
    env = ("environment", "staging")
    assert got[("basb_gate_verdict", (env,))] == 0
    assert got[("basb_gate_last_run_timestamp_seconds", (env,))] == (T0 + timedelta(seconds=12)).timestamp()
    assert got[("basb_service_up", (env, ("service", "search")))] == 0
    assert got[("basb_service_up", (env, ("service", "vault")))] == 1
    assert not any(name == "basb_service_up" and ("service", "idle") in labels for name, labels in got)
    smoke = (("check", "smoke.call"), env)
    assert got[("basb_check_results", (*smoke, ("outcome", "fail"), ("service", "search")))] == 1
    assert got[("basb_check_results", (*smoke, ("outcome", "pass"), ("service", "search")))] == 1
    assert got[("basb_check_results", (*smoke, ("outcome", "warn"), ("service", "search")))] == 0
    assert got[("basb_check_duration_seconds", (*smoke, ("service", "search")))] == 1.5
    item = (env, ("item", "ci_cd"), ("status", "not_evaluated"))
    assert got[("basb_gate_item_status", item)] == 1
    assert {name for name, _ in got} <= METRIC_NAMES | {"basb_check_results"}


def test_a_run_that_checked_nothing_has_no_verdict_to_alert_on(tmp_path: Path) -> None:
    """Verdict `none` is neither a pass nor a failure: BasbGateFailing (verdict == 0) must not fire."""
    empty = report([])
    assert empty.verdict == "none"
    got = samples(write_metrics(gate_registry(empty), tmp_path / "metrics.prom"))
    assert not any(name == "basb_gate_verdict" for name, _ in got)
    assert ("basb_gate_last_run_timestamp_seconds", (("environment", "staging"),)) in got  # the run is seen


def test_events_are_one_ecs_event_per_check_with_secrets_masked(tmp_path: Path) -> None:
    secret = "tok-5ecr3t-value"
    results = [*RESULTS, CheckResult("health.liveness", "vault", "error", duration_s=2.0, message=f"echoed {secret}")]
    path = write_events(report(results), tmp_path / "events.jsonl", redact=Redactor([secret]).data)
    text = path.read_text()
    assert secret not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert len(events) == len(results)
    by_id = {(e["service"]["name"], e["basb"]["check"]["id"], e["event"]["outcome"]): e for e in events}
    failed = by_id[("vault", "health.liveness", "failure")]
    assert failed["event"]["dataset"] == DATASET
    assert failed["event"]["duration"] == 2_000_000_000
    assert failed["basb"]["environment"] == "staging"
    assert failed["message"] == "health.liveness on vault: error: echoed ***"
    assert failed["@timestamp"] == "2026-11-30T08:00:12.000Z"
    assert {e["event"]["outcome"] for e in events} == {"success", "failure", "unknown"}


def test_ci_status_json_names_failed_jobs(tmp_path: Path) -> None:
    path = tmp_path / "ci.json"
    jobs = [{"name": "lint", "conclusion": "success"}, {"name": "images", "conclusion": "failure"}]
    path.write_text(json.dumps({"jobs": jobs}))
    status = load_ci_status(path)
    assert not status.ok
    gate = build_gate(
        RESULTS, environment="s", services=[], started_at=T0, finished_at=T0, runbooks_dir=None,
        ci_ok=status.ok, ci_evidence=status.evidence(),
    )  # fmt: skip
    item = next(g for g in gate.gate if g.item == CI_CD)
    assert item.status == "fail"
    assert item.evidence == ("ci.json: 2 jobs, 1 failed", "failed job: images (failure)")


def test_ci_status_junit_xml(tmp_path: Path) -> None:
    path = tmp_path / "jobs.xml"
    path.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="ci">'
        '<testcase classname="ci" name="lint"/><testcase classname="ci" name="docs"><skipped/></testcase>'
        '<testcase classname="ci" name="tests"><failure message="x"/></testcase></testsuite></testsuites>'
    )
    status = load_ci_status(path)
    assert [(j.name, j.conclusion) for j in status.jobs] == [
        ("ci.lint", "success"), ("ci.docs", "skipped"), ("ci.tests", "failure"),
    ]  # fmt: skip
    assert [j.name for j in status.failed] == ["ci.tests"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"runs": []}', "jobs: required list is missing"),
        ('{"jobs": []}', "lists no jobs"),
        ('{"jobs": [{"name": "lint", "conclusion": "green"}]}', "jobs.0.conclusion: must be one of"),
        ('{"jobs": [{"conclusion": "success"}]}', "jobs.0.name: required"),
        ("<testsuites><testcase", "not well-formed XML"),
        ("<html></html>", "expected <testsuites> or <testsuite>"),
    ],
)
def test_bad_ci_status_files_are_explained(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "ci-status.json"
    path.write_text(content)
    with pytest.raises(CiStatusError) as info:
        load_ci_status(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_ci_status_file(tmp_path: Path) -> None:
    with pytest.raises(CiStatusError, match="not found"):
        load_ci_status(tmp_path / "nope.json")


def test_merged_shards_keep_the_ci_evidence_and_write_metrics_and_events(tmp_path: Path) -> None:
    from pytest_basb.report.gate_files import write_gate_json
    from pytest_basb.report.merge import main as basb_report

    evidence = ("ci.json: 2 jobs, 1 failed", "failed job: images (failure)")
    for index, results in ((1, RESULTS[:3]), (2, RESULTS[3:])):
        scope = Scope(("health", "smoke"), 1, 2, len(results), None, reasons=(f"--basb-shard {index}/2",))
        shard = build_gate(
            results, environment="staging", services=[], started_at=T0, finished_at=T0, runbooks_dir=None,
            ci_ok=False, ci_evidence=evidence, scope=scope,
        )  # fmt: skip
        write_gate_json(shard, tmp_path / f"s{index}" / "gate.json", extra={"shard": {"index": index, "total": 2}})
    assert basb_report(["merge", "--out", str(tmp_path / "merged"), str(tmp_path / "s1"), str(tmp_path / "s2")]) == 1
    merged = json.loads((tmp_path / "merged" / "gate.json").read_text())
    assert next(g for g in merged["gate"] if g["item"] == CI_CD)["evidence"] == list(evidence)
    got = samples(tmp_path / "merged" / "metrics.prom")
    assert got[("basb_service_up", (("environment", "staging"), ("service", "vault")))] == 1
    events = (tmp_path / "merged" / "events.jsonl").read_text().splitlines()
    assert len(events) == len(RESULTS)
