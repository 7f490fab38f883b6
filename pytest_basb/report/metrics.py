"""The gate's own metrics: `<report-dir>/metrics.prom` and an optional Pushgateway push.

Built with prometheus_client (a private `CollectorRegistry`, `write_to_textfile`, `push_to_gateway`),
so the exposition is the library's, valid for `promtool check metrics`, node_exporter's textfile
collector and a Pushgateway alike. Alert and recording rules in `deploy/prometheus/` and the
dashboard in `deploy/grafana/` use exactly the names below (`METRIC_NAMES`; a test keeps them in step).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_basb.model.results import OUTCOMES
from pytest_basb.policy.waivers import WAIVER_STATES
from pytest_basb.report.gate import NOT_EVALUATED, GateReport

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

PUSH_JOB = "basb-gate"
GATE_ITEM_KEYS = {  # the gate items (docs/quality-gate.md) as short label values, in order
    "All services are successfully deployed and accessible": "deployed",
    "CI/CD pipelines are functioning without failed jobs": "ci_cd",
    "Monitoring and alerting systems provide accurate real-time data": "monitoring",
    "Basic accessibility tests for all services have passed": "accessibility",
    "Incident response protocols are in place and tested": "incident_response",
    "Security compliance checks are performed and documented": "security",
}
# gate item status -> label value (no space in a label value that people type into PromQL)
ITEM_STATUSES = {"pass": "pass", "fail": "fail", NOT_EVALUATED: "not_evaluated"}

# name -> (help, label names); every series the gate writes.
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "basb_gate_verdict": (
        "1 when the last gate run passed, 0 when it failed; absent when it checked nothing",
        ("environment",),
    ),
    "basb_gate_last_run_timestamp_seconds": ("Unix time the last gate run finished", ("environment",)),
    "basb_gate_duration_seconds": ("Wall time of the last gate run", ("environment",)),
    "basb_gate_item_status": (
        "1 for the status each quality-gate item had in the last run (pass, fail, not_evaluated)",
        ("environment", "item", "status"),
    ),
    "basb_service_up": (
        "1 when every check of the service passed in the last run, 0 when one failed (absent: not evaluated)",
        ("environment", "service"),
    ),
    "basb_check_results": (
        "Check results of the last run by service, check id and outcome",
        ("environment", "service", "check", "outcome"),
    ),
    "basb_check_duration_seconds": (
        "Longest duration of a check on a service in the last run",
        ("environment", "service", "check"),
    ),
    "basb_waivers": (
        "Waivers of the environment by state in the last run (active, expiring, expired, stale)",
        ("environment", "state"),
    ),
}
METRIC_NAMES: frozenset[str] = frozenset(METRICS)


def gate_registry(report: GateReport) -> CollectorRegistry:
    """A fresh registry holding the run's metrics (never the process-global default registry).

    The samples are built as metric families by one collector: a labelled `Gauge` child per series
    costs a validation and a lock each, and a large fleet writes tens of thousands of series.
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector

    families = {name: GaugeMetricFamily(name, text, labels=labels) for name, (text, labels) in METRICS.items()}
    for name, labels, value in _samples(report):
        families[name].add_metric(labels, value)

    class _RunCollector(Collector):
        def collect(self) -> list[GaugeMetricFamily]:
            return list(families.values())

    registry = CollectorRegistry()
    registry.register(_RunCollector())
    return registry


def _samples(report: GateReport) -> Iterator[tuple[str, tuple[str, ...], float]]:
    """(metric name, label values, value) of every series of this run."""
    env = report.environment
    if report.verdict != "none":  # a run that checked nothing neither passed nor failed: no page
        yield "basb_gate_verdict", (env,), 1 if report.verdict == "pass" else 0
    yield "basb_gate_last_run_timestamp_seconds", (env,), report.finished_at.timestamp()
    yield "basb_gate_duration_seconds", (env,), report.duration_s
    for item in report.gate:
        key = GATE_ITEM_KEYS.get(item.item, item.item)
        for status, label in ITEM_STATUSES.items():
            yield "basb_gate_item_status", (env, key, label), 1 if item.status == status else 0
    for result in report.services:
        if result.status != NOT_EVALUATED:
            yield "basb_service_up", (env, result.id), 1 if result.status == "pass" else 0
    counts: Counter[tuple[str, str, str]] = Counter()
    longest: defaultdict[tuple[str, str], float] = defaultdict(float)
    for check in report.checks:
        counts[(check.service, check.id, check.outcome)] += 1
        pair = (check.service, check.id)
        longest[pair] = max(longest[pair], check.duration_s)
    for (service, check_id), seconds in sorted(longest.items()):
        for outcome in OUTCOMES:  # zeros too, so `rate`/`changes` and alerts see every series
            yield "basb_check_results", (env, service, check_id, outcome), counts[(service, check_id, outcome)]
        yield "basb_check_duration_seconds", (env, service, check_id), seconds
    if report.waivers:
        states = Counter(w.state for w in report.waivers)
        for state in WAIVER_STATES:
            yield "basb_waivers", (env, state), states.get(state, 0)


def write_metrics(registry: CollectorRegistry, path: Path) -> Path:
    """Atomically (the library writes a temp file and renames), for the textfile collector."""
    from prometheus_client import write_to_textfile

    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path


def push_metrics(registry: CollectorRegistry, gateway: str, *, environment: str, timeout_s: float = 10.0) -> None:
    """PUT the registry to a Pushgateway under job `basb-gate`, grouped by environment.

    PUT replaces the group, so series of checks that no longer run do not linger there.
    """
    from prometheus_client import push_to_gateway

    push_to_gateway(
        gateway, job=PUSH_JOB, registry=registry, grouping_key={"environment": environment}, timeout=timeout_s
    )
