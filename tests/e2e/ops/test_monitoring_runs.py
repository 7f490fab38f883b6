"""Real gate runs against a reference service: monitoring.* on its /metrics, metrics.prom,
events.jsonl, a Pushgateway push to a real HTTP server, and --basb-ci-status in the CI/CD item."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.report.gate import CI_CD, MONITORING
from tests.helpers import REPO, Gate, free_port

SEARCH = REPO / "fixtures" / "services" / "search.py"
SEED = REPO / "fixtures" / "sample-vault"
METRICS = "[basb_tool_calls_total, basb_tool_call_duration_seconds, basb_vault_notes, basb_service_info]"


def inventory(port: int, metrics: str = METRICS) -> str:
    return f"""
    version: 1
    environments:
      t:
        seed_vault: {SEED}
        services:
          search:
            transport: streamable-http
            url: http://127.0.0.1:{port}/mcp
            metrics_url: http://127.0.0.1:{port}/metrics
            metrics: {metrics}
            launch: ["python", "{SEARCH}", "--http", "{port}"]
            env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
            timeout_s: 30
    """


class Recorder(BaseHTTPRequestHandler):
    """A stand-in Pushgateway: records every request and answers 200, as the real one does."""

    seen: list[tuple[str, str, str]]

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.server.seen.append((self.command, self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pushgateway() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def item(gate_json: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in gate_json["gate"] if g["item"] == name)


def test_a_run_writes_metrics_events_pushes_and_judges_monitoring_and_ci(
    gate: Gate, tmp_path: Path, pushgateway: tuple[str, list[tuple[str, str, str]]]
) -> None:
    url, seen = pushgateway
    ci = tmp_path / "ci-status.json"
    ci.write_text(
        json.dumps({"jobs": [{"name": "lint", "conclusion": "success"}, {"name": "images", "conclusion": "failure"}]})
    )
    gate.write(inventory(free_port()))
    result = gate.run_subprocess("-m", "health or monitoring", f"--basb-pushgateway={url}", f"--basb-ci-status={ci}")
    data = json.loads((gate.report_dir / "gate.json").read_text())
    metrics_check = next(c for c in data["checks"] if c["id"] == "monitoring.metrics")
    assert metrics_check["outcome"] == "pass", metrics_check["message"]
    assert metrics_check["evidence"]["samples"] > 0
    monitoring = item(data, MONITORING)
    # A metrics endpoint alone is no evidence that monitoring works: that takes the environment's
    # Prometheus and Alertmanager (tests/e2e/ops/test_monitoring_stack_runs.py).
    assert monitoring["status"] == "not evaluated"
    assert "add `monitoring: {prometheus_url: ..." in monitoring["evidence"][0]
    ci_item = item(data, CI_CD)
    assert ci_item["status"] == "fail"
    assert "failed job: images (failure)" in ci_item["evidence"]
    assert result.ret == 0  # CI evidence is reported, the checks of this run decide the exit code

    prom = (gate.report_dir / "metrics.prom").read_text()
    assert 'basb_service_up{environment="t",service="search"} 1.0' in prom
    assert 'basb_gate_item_status{environment="t",item="ci_cd",status="fail"} 1.0' in prom
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=prom.encode(), capture_output=True, timeout=60)
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()

    events = [json.loads(line) for line in (gate.report_dir / "events.jsonl").read_text().splitlines()]
    assert len(events) == len(data["checks"])
    assert {e["basb"]["check"]["id"] for e in events} == {c["id"] for c in data["checks"]}

    assert [(method, path) for method, path, _ in seen] == [("PUT", "/metrics/job/basb-gate/environment/t")]
    assert "basb_gate_verdict" in seen[0][2]
    result.stdout.fnmatch_lines([f"metrics pushed to {url}"])


def test_a_missing_metric_fails_the_monitoring_item(gate: Gate) -> None:
    gate.write(inventory(free_port(), metrics="[basb_vault_notes, basb_queue_depth]"))
    result = gate.run_subprocess("-m", "monitoring")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    data = json.loads((gate.report_dir / "gate.json").read_text())
    assert item(data, MONITORING)["status"] == "fail"
    result.stdout.fnmatch_lines(["*missing metric(s) basb_queue_depth*"])


def test_an_unreachable_pushgateway_is_reported_not_fatal(gate: Gate) -> None:
    gate.write(inventory(free_port()))
    dead = f"http://127.0.0.1:{free_port()}"
    result = gate.run_subprocess("-m", "monitoring", f"--basb-pushgateway={dead}")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"Pushgateway push to {dead} failed:*"])
    assert (gate.report_dir / "metrics.prom").is_file()


def test_a_bad_ci_status_file_is_a_usage_error(gate: Gate, tmp_path: Path) -> None:
    bad = tmp_path / "ci.json"
    bad.write_text('{"jobs": [{"name": "lint", "conclusion": "ok"}]}')
    gate.write(inventory(free_port()))
    result = gate.run("-m", "monitoring", f"--basb-ci-status={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--basb-ci-status: {bad}: jobs.0.conclusion: must be one of*"])


def test_metrics_behind_the_services_token_are_read_with_it_and_it_never_leaks(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ops-5ecr3t-token-value"
    monkeypatch.setenv("BASB_OPS_TOKEN", token)
    port = free_port()
    text = inventory(port).replace(
        'env: {BASB_VAULT: "${BASB_VAULT}"}',
        'env: {BASB_VAULT: "${BASB_VAULT}", BASB_TOKEN: "${BASB_OPS_TOKEN}"}\n'
        '            headers: {Authorization: "Bearer ${BASB_OPS_TOKEN}"}',
    )
    gate.write(text)
    result = gate.run_subprocess("-m", "health or monitoring")
    data = json.loads((gate.report_dir / "gate.json").read_text())
    metrics_check = next(c for c in data["checks"] if c["id"] == "monitoring.metrics")
    assert metrics_check["outcome"] == "pass", metrics_check["message"]
    assert result.ret == 0
    for name in ("gate.json", "metrics.prom", "events.jsonl"):
        assert token not in (gate.report_dir / name).read_text(), name
    assert token not in result.stdout.str()
