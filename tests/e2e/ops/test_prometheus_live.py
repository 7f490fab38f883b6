"""End to end on a real Prometheus (Debian's `prometheus`): it scrapes a failing gate's metrics,
served as node_exporter's textfile collector would, evaluates deploy/prometheus/ and fires
BasbGateFailing and BasbServiceDown."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from pytest_basb.model.results import CheckResult
from pytest_basb.report.gate import ServiceSummary, build_gate
from pytest_basb.report.metrics import gate_registry
from tests.helpers import REPO, free_port

RULES = REPO / "deploy" / "prometheus"


def failing_gate_metrics() -> bytes:
    now = datetime.now(UTC)
    results = [
        CheckResult("health.handshake", "search", "fail", message="no handshake within 10s", nodeid="a"),
        CheckResult("health.handshake", "vault", "pass", nodeid="b"),
    ]
    report = build_gate(
        results, environment="staging", services=[ServiceSummary("search"), ServiceSummary("vault")],
        started_at=now, finished_at=now, runbooks_dir=None, ci_ok=None,
    )  # fmt: skip
    return generate_latest(gate_registry(report))


@pytest.fixture
def metrics_server() -> Iterator[int]:
    body = failing_gate_metrics()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_prometheus_fires_the_gate_alerts_from_the_gate_metrics(metrics_server: int, tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("prometheus is not installed (Debian package prometheus; .ci/run installs it)")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "recording.yml"), str(RULES / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "basb-gate",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_server}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        firing = _wait_for_alerts(port, {"BasbGateFailing", "BasbServiceDown"}, process, tmp_path / "prometheus.log")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert firing["BasbGateFailing"]["labels"]["environment"] == "staging"
    assert firing["BasbServiceDown"]["labels"]["service"] == "search"
    assert firing["BasbGateFailing"]["annotations"]["runbook"] == "docs/runbooks/README.md"


def _wait_for_alerts(port: int, names: set[str], process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """The firing alerts by name, once all of `names` fire (a generous deadline: a loaded machine)."""
    deadline = time.monotonic() + 90
    firing: dict[str, Any] = {}
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5) as response:
                alerts = json.load(response)["data"]["alerts"]
            firing = {a["labels"]["alertname"]: a for a in alerts if a["state"] == "firing"}
            if names <= firing.keys():
                return firing
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise AssertionError(f"alerts firing: {sorted(firing)}; wanted {sorted(names)}\n{log.read_text()[-2000:]}")
