"""A drill's alert stage against real daemons (Debian's `prometheus` and `prometheus-alertmanager`):
Prometheus scrapes a reference service's /metrics, a rule fires on `up{service="capture"} == 0`, and
`firing_for` (what a drill polls for `alerted_s`) sees the alert in Alertmanager once the server
is killed, and only for that service."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pytest_basb.run.alerts import firing_for
from tests.helpers import REPO, SAMPLE_VAULT, Gate, free_port

DEADLINE_S = 90.0  # a guard on a loaded machine, not a measure


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body
    except OSError:
        return None


def _wait(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} within {DEADLINE_S:g} s")


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with log.open("wb") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def monitoring_stack(
    spawn: Callable[..., subprocess.Popen[bytes]], tmp_path: Path, service_port: int
) -> tuple[str, str]:
    """Alertmanager, and Prometheus scraping 127.0.0.1:`service_port` as service="capture" every second
    with the rule `up{service="capture"} == 0` (no `for:`); returns their URLs once Prometheus has
    scraped the target."""
    prometheus, alertmanager = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
    if prometheus is None or alertmanager is None:
        pytest.skip("prometheus or prometheus-alertmanager is not installed (.ci/run installs both)")
    prom_port, am_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text(
        yaml.safe_dump({"route": {"receiver": "drills", "group_wait": "0s"}, "receivers": [{"name": "drills"}]})
    )
    spawn(
        [
            alertmanager,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        tmp_path / "alertmanager.log",
    )
    rule = {"alert": "BasbServiceDown", "expr": 'up{service="capture"} == 0', "labels": {"severity": "page"}}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "drills", "rules": [rule]}]}))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {
                "job_name": "basb",
                "static_configs": [{"targets": [f"127.0.0.1:{service_port}"], "labels": {"service": "capture"}}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    spawn(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        tmp_path / "prometheus.log",
    )
    prom_url, am_url = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"

    def scraped() -> bool:
        body = _get(f"{prom_url}/api/v1/query?query=up%7Bservice%3D%22capture%22%7D")
        return bool(json.loads(body)["data"]["result"]) if body else False

    _wait("Prometheus did not scrape the service", scraped)
    _wait("Alertmanager did not answer", lambda: _get(f"{am_url}/api/v2/status") is not None)
    return prom_url, am_url


def test_an_alert_for_a_killed_service_reaches_alertmanager(
    spawn: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(SAMPLE_VAULT, vault)
    service_port = free_port()
    server = spawn(
        [sys.executable, str(REPO / "fixtures" / "services" / "capture.py"), "--http", str(service_port)],
        tmp_path / "capture.log",
        env={**os.environ, "BASB_VAULT": str(vault)},
    )
    _prom_url, am_url = monitoring_stack(spawn, tmp_path, service_port)
    assert not firing_for(am_url, "capture")

    os.killpg(server.pid, signal.SIGKILL)  # the drill's `crashed`
    killed = time.monotonic()
    _wait("no firing alert for service=capture reached Alertmanager", lambda: firing_for(am_url, "capture"))
    print(f"alerted after {time.monotonic() - killed:.1f} s (scrape and evaluation every 1 s)")
    assert not firing_for(am_url, "search")
    assert not firing_for(f"http://127.0.0.1:{free_port()}", "capture")  # nothing answers: not firing


def test_a_drill_times_the_alert_when_the_environment_names_alertmanager(
    spawn: Callable[..., subprocess.Popen[bytes]], gate: Gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_basb.inventory.load import Environment

    if "monitoring" not in Environment.__dataclass_fields__:
        pytest.skip("needs the inventory's `monitoring:` block (Monitoring item), not on this branch yet")
    service_port = free_port()
    prom_url, am_url = monitoring_stack(spawn, tmp_path, service_port)  # the gate launches it
    monkeypatch.setenv("PROM_URL", prom_url)
    monkeypatch.setenv("AM_URL", am_url)
    launch = [sys.executable, str(REPO / "fixtures" / "services" / "capture.py"), "--http", str(service_port)]
    gate.write(f"""
    version: 1
    environments:
      t:
        drills: allowed
        incident: {{drill_max_age_days: 7, alert_timeout_s: 60}}
        seed_vault: {SAMPLE_VAULT}
        monitoring: {{prometheus_url: "${{PROM_URL}}", alertmanager_url: "${{AM_URL}}"}}
        services:
          capture:
            transport: streamable-http
            url: http://127.0.0.1:{service_port}/mcp
            launch: {json.dumps(launch)}
            env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
            timeout_s: 30
    """)
    # Until the gate launches the service the alert fires: the drill's steady state waits until it is
    # resolved, so alerted_s times this drill's alert, not an earlier one.
    result = gate.run_subprocess("-m", "drill", "-k", "crashed", timeout=600)
    assert result.ret == 0, result.stdout.str()[-3000:]
    (line,) = (gate.report_dir / "drills.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["outcome"] == "pass"
    assert record["alerted_s"] is not None
    assert record["alerted_s"] >= record["detected_s"]
