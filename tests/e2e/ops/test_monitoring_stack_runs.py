"""Real gate runs against a real monitoring stack: Debian's prometheus, prometheus-alertmanager and
prometheus-pushgateway as processes on free ports (configs in tmp folders, 1 s scrape and evaluation
intervals), Prometheus scraping a reference service's /metrics with a relabel to service="search".

The healthy stack is shared by the module's tests (one xdist group); the broken stacks are their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.report.gate import MONITORING
from tests.helpers import REPO, SAMPLE_VAULT, Gate, free_port

SEARCH = REPO / "fixtures" / "services" / "search.py"
DAEMONS = ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway")
START_DEADLINE_S = 90.0  # a daemon's start, or the first scrape and alert, on a busy 2-core machine

pytestmark = [
    pytest.mark.xdist_group("monitoring-stack"),
    pytest.mark.skipif(
        any(shutil.which(d) is None for d in DAEMONS),
        reason="needs Debian's prometheus, prometheus-alertmanager and prometheus-pushgateway (.ci/run installs them)",
    ),
]

WATCHDOG_RULE = """
  - alert: Watchdog
    expr: vector(1)
    labels: {severity: none}
    annotations: {summary: proves the alert path}
"""
GOOD_RULE = """
  - alert: BasbServiceDown
    expr: up{job="basb-services"} == 0
    for: 1m
"""
BROKEN_RULES = """
  - alert: ReadsNothing
    expr: basb_no_such_metric_total > 0
  - record: basb:duplicate_labelsets
    expr: '{__name__=~"scrape_duration_seconds|scrape_samples_scraped"} * 0'
"""


@dataclass
class Daemon:
    """One daemon process; `stop` ends it (and only it)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def wait_until(what: str, probe: Callable[[], bool], daemons: list[Daemon]) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, ValueError, KeyError, StopIteration):  # not up yet (urllib's errors are OSErrors)
            pass
        for daemon in daemons:
            if daemon.process.poll() is not None:
                raise AssertionError(f"{daemon.name} exited: {daemon.log.read_text()[-2000:]}")
        time.sleep(0.2)
    logs = "\n".join(f"--- {d.name}\n{d.log.read_text()[-1500:]}" for d in daemons)
    raise AssertionError(f"not within {START_DEADLINE_S:g} s: {what}\n{logs}")


def start(name: str, argv: list[str], folder: Path, port: int, env: dict[str, str] | None = None) -> Daemon:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder, env=env
        )
    return Daemon(name, f"http://127.0.0.1:{port}", process, log)


def get_json(url: str, **params: str) -> Any:
    """GET with the standard library: pytester's in-process runs re-import httpx and httpcore, after
    which httpx in this module no longer maps httpcore's errors to its own."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(url + query, timeout=5) as response:
        return json.loads(response.read() or b"null")


def ready(daemon: Daemon, path: str = "/-/ready") -> bool:
    with urllib.request.urlopen(daemon.url + path, timeout=2) as response:
        return int(response.status) == 200


def prometheus_config(
    folder: Path, *, search: str, pushgateway: str | None, alertmanager: str | None, rules: str
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(f"groups:\n- name: basb\n  rules:{rules}")
    jobs = [
        f"""
  - job_name: basb-services
    static_configs: [{{targets: ["{search}"]}}]
    relabel_configs:
      - {{target_label: service, replacement: search}}"""
    ]
    if pushgateway:
        jobs.append(
            f"""
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{{targets: ["{pushgateway}"]}}]"""
        )
    alerting = ""
    if alertmanager:
        alerting = f'alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ["{alertmanager}"]}}]\n'
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{folder / 'rules.yml'}]\n{alerting}scrape_configs:{''.join(jobs)}\n"
    )
    return config


def start_prometheus(folder: Path, **config: Any) -> Daemon:
    port = free_port()
    path = prometheus_config(folder, **config)
    argv = [
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    daemon = start("prometheus", argv, folder, port)
    wait_until("Prometheus ready", lambda: ready(daemon), [daemon])
    return daemon


def query(prometheus: Daemon, promql: str) -> list[dict[str, Any]]:
    answer = get_json(prometheus.url + "/api/v1/query", query=promql)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def target_up(prometheus: Daemon) -> bool:
    return bool(query(prometheus, 'up{service="search"} == 1'))


def rule_health(prometheus: Daemon, name: str = "basb:duplicate_labelsets") -> str:
    groups = get_json(prometheus.url + "/api/v1/rules")["data"]["groups"]
    return str(next(r["health"] for g in groups for r in g["rules"] if r["name"] == name))


def alertmanagers(prometheus: Daemon) -> list[dict[str, Any]]:
    answer = get_json(prometheus.url + "/api/v1/alertmanagers")
    active: list[dict[str, Any]] = answer["data"]["activeAlertmanagers"]
    return active


@dataclass
class Stack:
    search_port: int
    prometheus: Daemon
    alertmanager: Daemon
    pushgateway: Daemon


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The reference search service over HTTP, whose /metrics Prometheus scrapes."""
    folder = tmp_path_factory.mktemp("search")
    vault = folder / "vault"
    shutil.copytree(SAMPLE_VAULT, vault)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "BASB_TOKEN"} | {"BASB_VAULT": str(vault)}
    daemon = start("search", [sys.executable, str(SEARCH), "--http", str(port)], folder, port, env=env)
    try:
        wait_until("search answers /healthz", lambda: ready(daemon, "/healthz"), [daemon])
        yield port
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def stack(services: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The healthy stack: Prometheus scrapes search and the Pushgateway and alerts to Alertmanager."""
    folder = tmp_path_factory.mktemp("stack")
    daemons: list[Daemon] = []
    try:
        am_port, pg_port = free_port(), free_port()
        (folder / "am").mkdir()
        (folder / "am" / "alertmanager.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
        alertmanager = start(
            "alertmanager",
            [
                "prometheus-alertmanager",
                f"--config.file={folder / 'am' / 'alertmanager.yml'}",
                f"--storage.path={folder / 'am' / 'data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            folder / "am",
            am_port,
        )
        daemons.append(alertmanager)
        pushgateway = start(
            "pushgateway",
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{pg_port}"],
            folder / "pg",
            pg_port,
        )
        daemons.append(pushgateway)
        wait_until("Alertmanager and Pushgateway ready", lambda: ready(alertmanager) and ready(pushgateway), daemons)
        prometheus = start_prometheus(
            folder / "prom",
            search=f"127.0.0.1:{services}",
            pushgateway=f"127.0.0.1:{pg_port}",
            alertmanager=f"127.0.0.1:{am_port}",
            rules=WATCHDOG_RULE + GOOD_RULE,
        )
        daemons.append(prometheus)
        wait_until("search scraped and up", lambda: target_up(prometheus), daemons)
        wait_until(
            "Watchdog received by Alertmanager",
            lambda: any(a["labels"]["alertname"] == "Watchdog" for a in get_json(alertmanager.url + "/api/v2/alerts")),
            daemons,
        )
        yield Stack(services, prometheus, alertmanager, pushgateway)
    finally:
        for daemon in reversed(daemons):
            daemon.stop()


def inventory(
    search_port: int, prometheus: str, alertmanager: str | None, *, extra_service: bool = False, t_extra: str = ""
) -> str:
    am = f", alertmanager_url: {alertmanager}" if alertmanager else ""
    ghost = (
        f"""
          ghost:
            transport: stdio
            command: ["{sys.executable}", "{REPO / "tests" / "servers" / "good_server.py"}"]"""
        if extra_service
        else ""
    )
    service = f"""
          search:
            transport: streamable-http
            url: http://127.0.0.1:{search_port}/mcp
            timeout_s: 30"""
    block = f"monitoring: {{prometheus_url: {prometheus}{am}, timeout_s: 10}}"
    return f"""
    version: 1
    environments:
      t:
        {block}{t_extra}
        services:{service}
      fresh:
        {block}
        services:{service}
      two:
        {block}
        services:{service}{ghost}
    """


def run_monitoring(gate: Gate, env: str = "t", *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A gate run of the monitoring checks: (the Monitoring item, gate.json)."""
    gate.run("-m", "monitoring", *extra, env=env)
    data = json.loads((gate.report_dir / "gate.json").read_text())
    return next(g for g in data["gate"] if g["item"] == MONITORING), data


def evidence(item: dict[str, Any]) -> str:
    return "\n".join(item["evidence"])


def test_healthy_stack_passes_the_monitoring_item_once_the_gate_pushed_its_metrics(gate: Gate, stack: Stack) -> None:
    gate.write(inventory(stack.search_port, stack.prometheus.url, stack.alertmanager.url))
    first, _ = run_monitoring(gate, "t", f"--basb-pushgateway={stack.pushgateway.url}")
    wait_until(
        "the pushed gate metrics in Prometheus",
        lambda: bool(query(stack.prometheus, 'basb_gate_last_run_timestamp_seconds{environment="t"}')),
        [stack.prometheus],
    )
    item, data = run_monitoring(gate, "t")
    assert item["status"] == "pass", evidence(item)
    ran = {(c["id"], c["service"]): c["outcome"] for c in data["checks"]}
    assert ran == {
        ("monitoring.targets", "search"): "pass",
        ("monitoring.rules", "@t"): "pass",
        ("monitoring.alerting", "@t"): "pass",
        ("monitoring.gate_metrics", "@t"): "pass",
        ("monitoring.metrics", "search"): "skip",  # no metrics_url in this inventory
    }
    assert [s["id"] for s in data["services"]] == ["search"]  # the environment-wide checks are no service row
    assert data["scope"]["services"] == {"checked": 1, "total": 1}
    assert data["scope"]["checks"] == {"selected": 5, "total": 5}
    assert first["status"] in ("pass", "fail")  # the first run judged what was (not) pushed before it


def test_gate_metrics_never_pushed_fail_the_item(gate: Gate, stack: Stack) -> None:
    gate.write(inventory(stack.search_port, stack.prometheus.url, stack.alertmanager.url))
    item, _ = run_monitoring(gate, "fresh")
    assert item["status"] == "fail"
    text = evidence(item)
    assert 'monitoring.gate_metrics on @fresh: the gate\'s own metrics for environment="fresh" are not in' in text
    assert "basb_gate_last_run_timestamp_seconds" in text
    assert "runbook: " in text
    assert "monitoring.gate_metrics.md" in text


def test_a_service_missing_from_scrape_configs_fails_the_item_naming_it(gate: Gate, stack: Stack) -> None:
    gate.write(inventory(stack.search_port, stack.prometheus.url, stack.alertmanager.url, extra_service=True))
    item, data = run_monitoring(gate, "two")
    assert item["status"] == "fail"
    assert 'monitoring.targets on ghost: no active Prometheus scrape target labelled {service="ghost"}' in (
        evidence(item)
    )
    assert "monitoring.targets.md" in evidence(item)
    targets = {c["service"]: c["outcome"] for c in data["checks"] if c["id"] == "monitoring.targets"}
    assert targets == {"ghost": "fail", "search": "pass"}


def test_prometheus_down_fails_every_check_with_connection_refused(gate: Gate, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    gate.write(inventory(free_port(), f"http://127.0.0.1:{port}", None))
    item, data = run_monitoring(gate, "t")
    assert item["status"] == "fail"
    assert f"connection refused at http://127.0.0.1:{port}/api/v1/targets" in evidence(item)
    outcomes = {c["id"]: c["outcome"] for c in data["checks"] if c["id"] != "monitoring.metrics"}
    assert outcomes == dict.fromkeys(
        ("monitoring.targets", "monitoring.rules", "monitoring.alerting", "monitoring.gate_metrics"), "fail"
    )


def test_policy_levels_and_waivers_apply_to_the_environment_wide_checks(gate: Gate) -> None:
    prometheus = f"http://127.0.0.1:{free_port()}"  # down: every check fails unless the policy says otherwise
    gate.write(
        inventory(
            free_port(),
            prometheus,
            None,
            t_extra="""
        policy: {checks: {monitoring.rules: "off", monitoring.gate_metrics: warn}}
        waivers:
          - {check: monitoring.alerting, service: "*", reason: "ticket OPS-1", expires: "2999-01-01"}""",
        )
    )
    item, data = run_monitoring(gate, "t")
    outcomes = {c["id"]: c["outcome"] for c in data["checks"] if c["id"] != "monitoring.metrics"}
    assert outcomes == {
        "monitoring.targets": "fail",
        "monitoring.rules": "skip",
        "monitoring.alerting": "waived",
        "monitoring.gate_metrics": "warn",
    }
    assert item["status"] == "fail"  # monitoring.targets still fails


def test_broken_rules_and_no_alertmanager_fail_the_item(gate: Gate, services: int, tmp_path: Path) -> None:
    prometheus = start_prometheus(
        tmp_path / "broken",
        search=f"127.0.0.1:{services}",
        pushgateway=None,
        alertmanager=None,
        rules=WATCHDOG_RULE + BROKEN_RULES,
    )
    try:
        wait_until("search scraped and up", lambda: target_up(prometheus), [prometheus])
        wait_until("the duplicate-labelset rule failed", lambda: rule_health(prometheus) == "err", [prometheus])
        gate.write(inventory(services, prometheus.url, None))
        item, _ = run_monitoring(gate, "t")
    finally:
        prometheus.stop()
    text = evidence(item)
    assert item["status"] == "fail"
    assert "rule ReadsNothing (group basb) reads metric(s) Prometheus has no series of: basb_no_such_metric" in text
    assert "rule basb:duplicate_labelsets (group basb) is broken: " in text
    assert "monitoring.alerting on @t: Prometheus has no active Alertmanager" in text


def test_alerts_that_never_reach_alertmanager_fail_the_item(gate: Gate, services: int, tmp_path: Path) -> None:
    dead = free_port()  # Prometheus sends its alerts here; nothing listens
    prometheus = start_prometheus(
        tmp_path / "lost",
        search=f"127.0.0.1:{services}",
        pushgateway=None,
        alertmanager=f"127.0.0.1:{dead}",
        rules=WATCHDOG_RULE,
    )
    try:
        wait_until("search scraped and up", lambda: target_up(prometheus), [prometheus])
        wait_until("Prometheus found its Alertmanager", lambda: bool(alertmanagers(prometheus)), [prometheus])
        wait_until(
            "Watchdog firing in Prometheus",
            lambda: bool(query(prometheus, 'ALERTS{alertname="Watchdog", alertstate="firing"}')),
            [prometheus],
        )
        gate.write(inventory(services, prometheus.url, None))
        item, _ = run_monitoring(gate, "t")
    finally:
        prometheus.stop()
    assert item["status"] == "fail"
    refused = f"connection refused at http://127.0.0.1:{dead}/api/v2/alerts"
    assert f"monitoring.alerting on @t: cannot read Alertmanager alerts: {refused}" in evidence(item)


def test_an_environment_without_monitoring_block_leaves_the_item_not_evaluated(gate: Gate) -> None:
    gate.write(
        f"""
        version: 1
        environments:
          t:
            services:
              search:
                transport: streamable-http
                url: http://127.0.0.1:{free_port()}/mcp
        """
    )
    item, data = run_monitoring(gate, "t")
    assert item["status"] == "not evaluated"
    assert "add `monitoring: {prometheus_url: ..." in evidence(item)
    assert not [c for c in data["checks"] if c["id"] != "monitoring.metrics"]
