"""Monitoring-stack checks: judge what Prometheus and Alertmanager answered (their HTTP API JSON),
so the gate's Monitoring item rests on the monitoring the environment really has.

Pure functions: each takes the `data` of an API answer (or the error that replaced it) and returns a
`CheckResult`; fetching is `connection/prometheus_api.py`'s job. Check ids: `monitoring.targets`
(per service), `monitoring.rules`, `monitoring.alerting`, `monitoring.gate_metrics` (per environment).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from pytest_basb.checks.promql import metric_names
from pytest_basb.model.results import CheckResult, passed, violated

TARGETS = "monitoring.targets"
RULES = "monitoring.rules"
ALERTING = "monitoring.alerting"
GATE_METRICS = "monitoring.gate_metrics"
CHECK_IDS = (TARGETS, RULES, ALERTING, GATE_METRICS)

# A target is stale when its last scrape is older than this many scrape intervals plus the slack
# (a scrape may run long, and the gate's clock is not Prometheus').
STALE_INTERVALS = 3
STALE_SLACK_S = 10.0
# Series Prometheus makes itself: a rule may read them although nothing is scraped under that name.
SYNTHETIC = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
# The gate's own metrics (report/metrics.py) every push holds.
GATE_METRICS_REQUIRED = ("basb_gate_last_run_timestamp_seconds", "basb_gate_item_status", "basb_check_results")
PUSH_JOB = "basb-gate"


def scrape_targets(service: str, data: Any, error: str | None, *, now: datetime, job: str | None = None) -> CheckResult:
    """Prometheus has an active target labelled service="<service>" (of `job` when given), every such
    target is up, and its last scrape is recent (within 3 scrape intervals + 10 s).

    `data`: the `data` of GET /api/v1/targets?state=active.
    """
    if error is not None:
        return violated(TARGETS, service, f"cannot read Prometheus targets: {error}")
    active = [_map(t) for t in _list(_map(data).get("activeTargets"))]
    mine = [
        t
        for t in active
        if _map(t.get("labels")).get("service") == service and (job is None or _map(t.get("labels")).get("job") == job)
    ]
    selector = f'service="{service}"' + (f', job="{job}"' if job else "")
    if not mine:
        jobs = sorted({str(_map(t.get("labels")).get("job")) for t in active})
        return violated(
            TARGETS,
            service,
            f"no active Prometheus scrape target labelled {{{selector}}}: {service} is not monitored "
            f"(add it to scrape_configs; {len(active)} active targets in jobs: {', '.join(jobs) or 'none'})",
            evidence={"selector": selector, "active_targets": len(active)},
        )
    problems: list[str] = []
    for target in mine:
        url = str(target.get("scrapeUrl", "?"))
        health = target.get("health")
        if health != "up":
            cause = target.get("lastError") or "not scraped yet"
            problems.append(f"{url} is {health}: {cause}")
            continue
        age = _age_s(target.get("lastScrape"), now)
        interval = _duration_s(str(target.get("scrapeInterval", ""))) or 60.0
        bound = STALE_INTERVALS * interval + STALE_SLACK_S
        if age is None or age > bound:
            shown = "never" if age is None else f"{age:.0f} s ago"
            problems.append(f"{url} last scraped {shown} (bound {bound:.0f} s: 3 x {interval:g} s interval + 10 s)")
    evidence = {"selector": selector, "targets": [_target_summary(t, now) for t in mine]}
    if problems:
        return violated(TARGETS, service, f"{service}: " + "; ".join(problems), evidence=evidence)
    return passed(TARGETS, service, **evidence)


def rule_health(subject: str, rules: Any, rules_error: str | None, names: Any, names_error: str | None) -> CheckResult:
    """Rule groups are loaded, every rule's health is "ok", and every metric a rule reads has series.

    `rules`: the `data` of GET /api/v1/rules; `names`: the `data` of GET /api/v1/label/__name__/values
    (the metric names Prometheus holds). Names a recording rule makes, and ALERTS, count as present.
    """
    if rules_error is not None:
        return violated(RULES, subject, f"cannot read Prometheus rules: {rules_error}")
    groups = [_map(g) for g in _list(_map(rules).get("groups"))]
    all_rules = [(str(g.get("name")), _map(r)) for g in groups for r in _list(g.get("rules"))]
    if not all_rules:
        return violated(RULES, subject, "no rule groups loaded in Prometheus (rule_files: is empty or unread)")
    problems: list[str] = []
    for group, rule in all_rules:
        if rule.get("health") != "ok":
            cause = rule.get("lastError") or f"health {rule.get('health')} (not evaluated yet)"
            problems.append(f"rule {rule.get('name')} (group {group}) is broken: {cause}")
    if names_error is not None:
        problems.append(f"cannot read Prometheus metric names: {names_error}")
    else:
        present = {str(n) for n in _list(names)} | SYNTHETIC
        present |= {str(r.get("name")) for _g, r in all_rules if r.get("type") == "recording"}
        for group, rule in all_rules:
            try:
                read = metric_names(str(rule.get("query", "")))
            except ValueError as exc:
                problems.append(f"rule {rule.get('name')} (group {group}): cannot read its expression: {exc}")
                continue
            missing = sorted(read - present)
            if missing:
                problems.append(
                    f"rule {rule.get('name')} (group {group}) reads metric(s) Prometheus has no series of: "
                    + ", ".join(missing)
                )
    evidence = {"groups": len(groups), "rules": len(all_rules)}
    if problems:
        return violated(RULES, subject, "; ".join(problems), evidence={**evidence, "problems": problems})
    return passed(RULES, subject, **evidence)


def alert_path(
    subject: str,
    *,
    watchdog: str,
    alertmanagers: Any,
    alertmanagers_error: str | None,
    alerts: Any,
    alerts_error: str | None,
    received: Any,
    received_error: str | None,
    alertmanager_url: str | None,
) -> CheckResult:
    """Prometheus sends alerts to an active Alertmanager, the watchdog alert fires in Prometheus and
    Alertmanager holds it.

    `alertmanagers`: data of GET /api/v1/alertmanagers; `alerts`: data of GET /api/v1/alerts;
    `received`: the body of the Alertmanager's GET /api/v2/alerts (None when none was asked).
    """
    if alertmanagers_error is not None:
        return violated(ALERTING, subject, f"cannot read Prometheus' Alertmanagers: {alertmanagers_error}")
    active = [str(_map(a).get("url")) for a in _list(_map(alertmanagers).get("activeAlertmanagers"))]
    evidence: dict[str, Any] = {"alertmanagers": active, "watchdog": watchdog, "alertmanager_url": alertmanager_url}
    if not active:
        return violated(
            ALERTING,
            subject,
            "Prometheus has no active Alertmanager: no alert reaches anyone (add an `alerting:` block "
            "with the Alertmanager's address to prometheus.yml)",
            evidence=evidence,
        )
    if alerts_error is not None:
        return violated(ALERTING, subject, f"cannot read Prometheus alerts: {alerts_error}", evidence=evidence)
    firing = [
        a
        for a in map(_map, _list(_map(alerts).get("alerts")))
        if _map(a.get("labels")).get("alertname") == watchdog and a.get("state") == "firing"
    ]
    if not firing:
        return violated(
            ALERTING,
            subject,
            f"the watchdog alert {watchdog} is not firing in Prometheus (add an alerting rule {watchdog} "
            "with expr: vector(1); it proves the alert path)",
            evidence=evidence,
        )
    if received_error is not None:
        return violated(ALERTING, subject, f"cannot read Alertmanager alerts: {received_error}", evidence=evidence)
    got = [
        a
        for a in map(_map, _list(received))
        if _map(a.get("labels")).get("alertname") == watchdog and _map(a.get("status")).get("state") != "suppressed"
    ]
    if not got:
        return violated(
            ALERTING,
            subject,
            f"Alertmanager at {alertmanager_url} has not received the watchdog alert {watchdog} that Prometheus "
            f"fires (Prometheus sends to: {', '.join(active)})",
            evidence=evidence,
        )
    return passed(ALERTING, subject, **evidence)


def gate_metrics(
    subject: str, environment: str, data: Any, error: str | None, *, now: datetime, max_age_s: float
) -> CheckResult:
    """The gate's own last-run metrics are in Prometheus with environment="<environment>" and fresh:
    their push (push_time_seconds of job basb-gate, or basb_gate_last_run_timestamp_seconds without a
    Pushgateway) is at most `max_age_s` old.

    `data`: the `data` of an instant query for `{__name__=~"basb_.+|push_time_seconds", environment="<env>"}`.
    """
    if error is not None:
        return violated(GATE_METRICS, subject, f"cannot query Prometheus: {error}")
    series = [_map(s) for s in _list(_map(data).get("result"))]
    names = {str(_map(s.get("metric")).get("__name__")) for s in series}
    missing = [name for name in GATE_METRICS_REQUIRED if name not in names]
    evidence: dict[str, Any] = {"environment": environment, "series": len(series), "max_age_s": max_age_s}
    if missing:
        return violated(
            GATE_METRICS,
            subject,
            f'the gate\'s own metrics for environment="{environment}" are not in Prometheus: missing '
            f"{', '.join(missing)} (does the gate run with --basb-pushgateway=URL, and does Prometheus "
            "scrape that Pushgateway with honor_labels: true?)",
            evidence={**evidence, "missing": missing},
        )
    pushes = [s for s in series if _map(s.get("metric")).get("__name__") == "push_time_seconds" and _pushed_by_gate(s)]
    stamps = pushes or [
        s for s in series if _map(s.get("metric")).get("__name__") == "basb_gate_last_run_timestamp_seconds"
    ]
    source = "push_time_seconds" if pushes else "basb_gate_last_run_timestamp_seconds"
    newest = max((v for s in stamps if (v := _sample_value(s)) is not None), default=None)
    if newest is None:
        return violated(GATE_METRICS, subject, f"{source} has no numeric value", evidence=evidence)
    age = now.timestamp() - newest
    evidence.update(age_s=round(age, 1), source=source)
    if age > max_age_s:
        return violated(
            GATE_METRICS,
            subject,
            f'the gate\'s last metrics for environment="{environment}" are {age:.0f} s old ({source}), '
            f"over the bound of {max_age_s:g} s: the gate has not run (or pushed) since",
            evidence=evidence,
        )
    return passed(GATE_METRICS, subject, **evidence)


def gate_metrics_query(environment: str) -> str:
    """The instant query whose answer `gate_metrics` judges."""
    return f'{{__name__=~"basb_.+|push_time_seconds", environment="{_escape(environment)}"}}'


def missing_checks(ran: Collection[str]) -> list[str]:
    """The monitoring-stack check ids not among `ran`, in catalogue order."""
    return [check for check in CHECK_IDS if check not in ran]


# --- helpers -------------------------------------------------------------------------------------


def _pushed_by_gate(series: Mapping[str, Any]) -> bool:
    labels = _map(series.get("metric"))
    return PUSH_JOB in (labels.get("job"), labels.get("exported_job"))  # honor_labels or not


def _sample_value(series: Mapping[str, Any]) -> float | None:
    value = _list(series.get("value"))
    try:
        return float(value[1])
    except (IndexError, TypeError, ValueError):
        return None


def _target_summary(target: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    age = _age_s(target.get("lastScrape"), now)
    return {
        "job": _map(target.get("labels")).get("job"),
        "url": target.get("scrapeUrl"),
        "health": target.get("health"),
        "last_scrape_age_s": None if age is None else round(age, 1),
    }


_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _duration_s(text: str) -> float | None:
    """A Prometheus duration (`15s`, `1m30s`) in seconds; None when it is not one."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


def _age_s(stamp: Any, now: datetime) -> float | None:
    """Seconds since an RFC 3339 time from Prometheus; None when never (Go's zero time) or unreadable."""
    if not isinstance(stamp, str) or stamp.startswith("0001-"):
        return None
    # Go writes nanoseconds; Python reads at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", stamp).replace("Z", "+00:00")
    try:
        return (now - datetime.fromisoformat(text)).total_seconds()
    except ValueError:
        return None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []
