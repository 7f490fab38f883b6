"""deploy/prometheus and deploy/grafana, read as data: the alerts exist with runbooks and promtool unit
tests, and rules and dashboard read only metrics the gate or a reference service writes."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pytest_basb.model.probe import PHASES, ProbeOutcome
from pytest_basb.model.results import OUTCOMES, CheckResult
from pytest_basb.report.gate import ServiceSummary, build_gate
from pytest_basb.report.metrics import gate_registry
from pytest_basb.report.probe_metrics import probe_exposition
from tests.helpers import REPO

DEPLOY = REPO / "deploy"


PROMETHEUS = DEPLOY / "prometheus"


DASHBOARD = DEPLOY / "grafana" / "basb-gate-dashboard.json"


def rules(kind: str) -> list[dict[str, Any]]:
    found = []
    for name in ("recording.yml", "alerts.yml"):
        for group in yaml.safe_load((PROMETHEUS / name).read_text())["groups"]:
            found += [rule for rule in group["rules"] if kind in rule]
    return found


def test_the_alerts_the_brief_needs_exist_with_runbooks_and_unit_tests() -> None:
    alerts = {rule["alert"]: rule for rule in rules("alert")}
    needed = {"BasbGateFailing", "BasbServiceDown", "BasbCheckLatencyOverBudget", "BasbGateNotRunning"}
    assert needed | {"BasbSecurityFinding"} <= alerts.keys()
    tested = "\n".join(p.read_text() for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert {"Watchdog", "BasbProbeFailing", "BasbProberDown"} <= alerts.keys()
    assert alerts["Watchdog"]["expr"] == "vector(1)"
    for name, rule in alerts.items():
        # kube-prometheus' convention: the Watchdog's severity is "none", it pages nobody
        assert rule["labels"]["severity"] in (("none",) if name == "Watchdog" else ("critical", "warning")), name
        runbook = rule["annotations"].get("runbook_url") or rule["annotations"]["runbook"]
        assert (REPO / runbook).is_file(), f"{name}: runbook {runbook}"
        assert f"alertname: {name}" in tested, f"{name} has no promtool unit test"


_PROMQL_WORDS = {
    "sum", "avg", "max", "min", "count", "topk", "bottomk", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "offset", "bool", "rate", "irate", "increase", "time", "vector",
    "absent", "histogram_quantile", "label_values", "e", "inf", "nan",
}  # fmt: skip


def metric_names_in(expr: str) -> set[str]:
    """Metric names a PromQL expression reads: identifiers outside {...}, [...], strings, by (...)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if not call and word.lower() not in _PROMQL_WORDS:
            names.add(word)
    return names


def written_metric_names() -> set[str]:
    """Series names the gate really writes (metrics.prom) and a reference service really exposes."""
    now = datetime.now(UTC)
    results = [
        CheckResult(cid, "s", outcome) for cid in ("health.handshake", "security.poisoning") for outcome in OUTCOMES
    ]
    report = build_gate(
        results, environment="e", services=[ServiceSummary("s")], started_at=now, finished_at=now,
        runbooks_dir=None, ci_ok=True,
    )  # fmt: skip
    texts = [generate_latest(gate_registry(report)).decode()]
    sys.path.insert(0, str(REPO / "fixtures" / "services"))
    try:
        import basb_vault_lib
    finally:
        sys.path.remove(str(REPO / "fixtures" / "services"))
    service = basb_vault_lib.ServiceMetrics("basb-x", "1.0.0", lambda: 3)
    service.observe("search", "ok", 0.01)
    service.observe("search", "error", 0.02)
    texts.append(generate_latest(service.registry).decode())
    probe = ProbeOutcome("s", True, {phase: 0.1 for phase in PHASES})
    texts.append(probe_exposition(probe).decode())
    return {s.name for text in texts for family in text_string_to_metric_families(text) for s in family.samples}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_metric_name_extraction() -> None:
    expr = 'sum by (job, le) (rate(basb_x_bucket{a="b"}[5m])) / on (job) basb:y:sum > 0.2 or vector(0)'
    assert metric_names_in(expr) == {"basb_x_bucket", "basb:y:sum"}


def test_rules_and_dashboard_read_only_metrics_that_exist() -> None:
    known = written_metric_names() | {rule["record"] for rule in rules("record")} | {"up"}
    assert {"basb_gate_verdict", "basb_check_results", "basb_tool_calls_total", "basb_vault_notes"} <= known
    assert {"basb_probe_success", "basb_probe_duration_seconds"} <= known
    exprs = {f"rule {r.get('alert') or r.get('record')}": str(r["expr"]) for r in rules("expr")}
    exprs.update({f"dashboard panel expr {e!r}": e for e in dashboard_exprs()})
    unknown = {where: sorted(metric_names_in(expr) - known) for where, expr in exprs.items()}
    assert not {where: names for where, names in unknown.items() if names}
    assert len(dashboard_exprs()) >= 10


def test_dashboard_is_grafana_json_with_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"])
