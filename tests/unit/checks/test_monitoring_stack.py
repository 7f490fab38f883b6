"""Judging Prometheus and Alertmanager API answers (checks/monitoring_stack.py), from JSON shaped as
Prometheus 2.42 and Alertmanager 0.25 answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_basb.checks import monitoring_stack as ms

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


def target(service: str, *, job: str = "basb", health: str = "up", age_s: float = 0.5, interval: str = "15s") -> Any:
    scraped = (NOW - timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Go's nanoseconds
    return {
        "labels": {"job": job, "service": service, "instance": "127.0.0.1:8931"},
        "scrapeUrl": "http://127.0.0.1:8931/metrics",
        "lastError": "" if health == "up" else 'Get "http://127.0.0.1:8931/metrics": dial tcp: connection refused',
        "lastScrape": scraped,
        "health": health,
        "scrapeInterval": interval,
    }


def test_targets_pass_when_the_service_target_is_up_and_fresh() -> None:
    result = ms.scrape_targets("search", {"activeTargets": [target("search")]}, None, now=NOW)
    assert result.outcome == "pass"
    assert result.evidence["targets"][0]["last_scrape_age_s"] == 0.5


def test_targets_name_a_service_without_target() -> None:
    result = ms.scrape_targets("capture", {"activeTargets": [target("search")]}, None, now=NOW)
    assert result.outcome == "fail"
    assert result.message is not None
    assert result.message.startswith('no active Prometheus scrape target labelled {service="capture"}')
    assert "jobs: basb" in result.message


def test_targets_honour_the_job_filter() -> None:
    answer = {"activeTargets": [target("search", job="other")]}
    assert ms.scrape_targets("search", answer, None, now=NOW, job="basb-probe").outcome == "fail"
    assert ms.scrape_targets("search", answer, None, now=NOW, job="other").outcome == "pass"


def test_targets_fail_on_a_down_target_with_its_last_error() -> None:
    result = ms.scrape_targets("search", {"activeTargets": [target("search", health="down")]}, None, now=NOW)
    assert result.outcome == "fail"
    assert "is down: Get " in str(result.message)
    assert "connection refused" in str(result.message)


def test_targets_fail_on_a_stale_scrape_relative_to_the_interval() -> None:
    fresh = ms.scrape_targets("search", {"activeTargets": [target("search", age_s=50)]}, None, now=NOW)
    stale = ms.scrape_targets("search", {"activeTargets": [target("search", age_s=60)]}, None, now=NOW)
    assert fresh.outcome == "pass"  # 3 x 15 s + 10 s = 55 s
    assert stale.outcome == "fail"
    assert "last scraped 60 s ago (bound 55 s" in str(stale.message)


def test_targets_report_an_unreachable_prometheus() -> None:
    result = ms.scrape_targets("search", None, "connection refused at http://p/api/v1/targets", now=NOW)
    assert result.message == "cannot read Prometheus targets: connection refused at http://p/api/v1/targets"


def rule(name: str, query: str, *, health: str = "ok", error: str = "", kind: str = "alerting") -> dict[str, Any]:
    return {"name": name, "query": query, "health": health, "lastError": error, "type": kind}


def rules_answer(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"groups": [{"name": "basb", "file": "/etc/prometheus/alerts.yml", "rules": list(rules)}]}


def test_rules_pass_when_healthy_and_reading_existing_metrics() -> None:
    answer = rules_answer(
        rule("Watchdog", "vector(1)"),
        rule("job:calls:rate5m", "sum by (job) (rate(basb_tool_calls_total[5m]))", kind="recording"),
        rule("CallsStopped", "job:calls:rate5m == 0"),  # reads a recording rule's output
        rule("ProbeGone", 'absent(basb_probe_success{service="search"})'),
    )
    result = ms.rule_health("@t", answer, None, ["basb_tool_calls_total", "up"], None)
    assert result.outcome == "pass"
    assert result.evidence == {"groups": 1, "rules": 4}


def test_rules_name_a_broken_rule_and_one_reading_a_missing_metric() -> None:
    answer = rules_answer(
        rule("Dup", "x * 0", health="err", error="vector cannot contain metrics with the same labelset"),
        rule("ReadsNothing", "basb_no_such_metric_total > 0 or up == 0"),
    )
    result = ms.rule_health("@t", answer, None, ["up", "x"], None)
    assert result.outcome == "fail"
    assert result.message == (
        "rule Dup (group basb) is broken: vector cannot contain metrics with the same labelset; "
        "rule ReadsNothing (group basb) reads metric(s) Prometheus has no series of: basb_no_such_metric_total"
    )


def test_rules_fail_when_none_are_loaded() -> None:
    result = ms.rule_health("@t", {"groups": []}, None, [], None)
    assert result.message == "no rule groups loaded in Prometheus (rule_files: is empty or unread)"


def test_an_unevaluated_rule_is_not_yet_healthy() -> None:
    result = ms.rule_health("@t", rules_answer(rule("W", "vector(1)", health="unknown")), None, [], None)
    assert "rule W (group basb) is broken: health unknown (not evaluated yet)" in str(result.message)


def alerting(**overrides: Any) -> Any:
    args: dict[str, Any] = {
        "watchdog": "Watchdog",
        "alertmanagers": {"activeAlertmanagers": [{"url": "http://am:9093/api/v2/alerts"}], "droppedAlertmanagers": []},
        "alertmanagers_error": None,
        "alerts": {"alerts": [{"labels": {"alertname": "Watchdog"}, "state": "firing"}]},
        "alerts_error": None,
        "received": [{"labels": {"alertname": "Watchdog"}, "status": {"state": "active"}}],
        "received_error": None,
        "alertmanager_url": "http://am:9093",
    }
    return ms.alert_path("@t", **(args | overrides))


def test_alerting_passes_when_the_watchdog_reaches_alertmanager() -> None:
    assert alerting().outcome == "pass"


def test_alerting_without_an_alertmanager() -> None:
    result = alerting(alertmanagers={"activeAlertmanagers": [], "droppedAlertmanagers": []})
    assert str(result.message).startswith("Prometheus has no active Alertmanager")


def test_alerting_without_a_firing_watchdog() -> None:
    result = alerting(alerts={"alerts": [{"labels": {"alertname": "Watchdog"}, "state": "pending"}]})
    assert "the watchdog alert Watchdog is not firing in Prometheus" in str(result.message)
    renamed = alerting(watchdog="DeadMansSwitch")
    assert "the watchdog alert DeadMansSwitch is not firing" in str(renamed.message)


def test_alerting_when_alertmanager_did_not_receive_or_silenced_it() -> None:
    for received in ([], [{"labels": {"alertname": "Watchdog"}, "status": {"state": "suppressed"}}]):
        result = alerting(received=received)
        assert "Alertmanager at http://am:9093 has not received the watchdog alert Watchdog" in str(result.message)


def series(name: str, value: float, **labels: str) -> dict[str, Any]:
    return {"metric": {"__name__": name, **labels}, "value": [NOW.timestamp(), str(value)]}


GATE_SERIES = [
    series("basb_gate_item_status", 1, environment="t", item="deployed", status="pass"),
    series("basb_check_results", 1, environment="t", service="search", check="health.handshake", outcome="pass"),
]


def test_gate_metrics_fresh_push_passes_and_stale_fails() -> None:
    pushed = NOW.timestamp() - 100
    answer = {
        "resultType": "vector",
        "result": [
            *GATE_SERIES,
            series("basb_gate_last_run_timestamp_seconds", pushed - 5000, environment="t"),
            series("push_time_seconds", pushed, environment="t", job="basb-gate"),
        ],
    }
    ok = ms.gate_metrics("@t", "t", answer, None, now=NOW, max_age_s=3600)
    assert ok.outcome == "pass"
    assert ok.evidence["source"] == "push_time_seconds"
    assert ok.evidence["age_s"] == 100
    stale = ms.gate_metrics("@t", "t", answer, None, now=NOW, max_age_s=60)
    assert "are 100 s old (push_time_seconds), over the bound of 60 s" in str(stale.message)


def test_gate_metrics_without_pushgateway_use_the_last_run_timestamp() -> None:
    last_run = series("basb_gate_last_run_timestamp_seconds", NOW.timestamp() - 7, environment="t")
    answer = {"result": [*GATE_SERIES, last_run]}
    result = ms.gate_metrics("@t", "t", answer, None, now=NOW, max_age_s=60)
    assert result.evidence["source"] == "basb_gate_last_run_timestamp_seconds"
    assert result.evidence["age_s"] == 7


def test_gate_metrics_absent_name_what_is_missing() -> None:
    result = ms.gate_metrics("@t", "t", {"result": GATE_SERIES[:1]}, None, now=NOW, max_age_s=60)
    assert result.outcome == "fail"
    assert "missing basb_gate_last_run_timestamp_seconds, basb_check_results" in str(result.message)


def test_gate_metrics_query_escapes_the_environment() -> None:
    assert ms.gate_metrics_query('a"b') == '{__name__=~"basb_.+|push_time_seconds", environment="a\\"b"}'


# Answers recorded from Debian's prometheus 2.42 and prometheus-alertmanager 0.25 (the e2e stack's
# daemons: search scraped with a relabel to service="search", Watchdog, one rule reading a metric
# that does not exist and one whose evaluation fails); ports made stable.
RECORDED = json.loads((Path(__file__).parent / "recorded" / "prometheus-2.42.json").read_text())


def data(name: str) -> Any:
    return RECORDED[name]["data"] if name != "am_alerts" else RECORDED[name]


def test_recorded_targets() -> None:
    scraped = data("targets")["activeTargets"][0]["lastScrape"]
    at = datetime.fromisoformat(scraped[:26] + "+00:00") + timedelta(seconds=2)
    assert ms.scrape_targets("search", data("targets"), None, now=at).outcome == "pass"
    assert ms.scrape_targets("search", data("targets"), None, now=at, job="basb-services").outcome == "pass"
    late = ms.scrape_targets("search", data("targets"), None, now=at + timedelta(seconds=60))
    assert "last scraped 62 s ago (bound 13 s: 3 x 1 s interval + 10 s)" in str(late.message)
    assert ms.scrape_targets("capture", data("targets"), None, now=at).outcome == "fail"


def test_recorded_rules() -> None:
    result = ms.rule_health("@t", data("rules"), None, data("names"), None)
    assert result.message == (
        "rule basb:duplicate_labelsets (group basb) is broken: vector cannot contain metrics with the same labelset; "
        "rule ReadsNothing (group basb) reads metric(s) Prometheus has no series of: basb_no_such_metric_total"
    )


def test_recorded_alert_path() -> None:
    result = ms.alert_path(
        "@t",
        watchdog="Watchdog",
        alertmanagers=data("alertmanagers"),
        alertmanagers_error=None,
        alerts=data("alerts"),
        alerts_error=None,
        received=data("am_alerts"),
        received_error=None,
        alertmanager_url="http://127.0.0.1:9093",
    )
    assert result.outcome == "pass"
    assert result.evidence["alertmanagers"] == ["http://127.0.0.1:9093/api/v2/alerts"]
