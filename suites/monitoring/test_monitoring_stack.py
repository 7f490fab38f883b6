"""Monitoring-stack suite: the environment's Prometheus scrapes every service, its rules are healthy
and read metrics that exist, alerts reach the Alertmanager, and the gate's own metrics arrive.

Runs only for an environment with a `monitoring:` block (otherwise one skip per test says how to add
one). These checks also carry `smoke`, so the CI gate `-m smoke` judges the gate's Monitoring item.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pytest_basb import MonitoringUnderTest, ServiceUnderTest
from pytest_basb.checks import monitoring_stack

pytestmark = [pytest.mark.monitoring, pytest.mark.smoke]

# The metric names rules read are looked up among the series of this last stretch of time.
NAMES_WINDOW = timedelta(hours=1)


@pytest.mark.basb_check("monitoring.targets")
def test_scrape_target(basb_service: ServiceUnderTest, basb_monitoring: MonitoringUnderTest) -> None:
    answer = basb_monitoring.prometheus("/api/v1/targets", state="active")
    basb_service.judge(
        monitoring_stack.scrape_targets(
            basb_service.id, answer.data, answer.error, now=basb_monitoring.now(), job=basb_monitoring.config.job
        )
    )


@pytest.mark.basb_check("monitoring.rules")
def test_rules(basb_monitoring: MonitoringUnderTest) -> None:
    rules = basb_monitoring.prometheus("/api/v1/rules")
    since = basb_monitoring.now() - NAMES_WINDOW
    names = basb_monitoring.prometheus("/api/v1/label/__name__/values", start=f"{since.timestamp():.0f}")
    basb_monitoring.judge(
        monitoring_stack.rule_health(basb_monitoring.subject, rules.data, rules.error, names.data, names.error)
    )


@pytest.mark.basb_check("monitoring.alerting")
def test_alerting(basb_monitoring: MonitoringUnderTest) -> None:
    alertmanagers = basb_monitoring.prometheus("/api/v1/alertmanagers")
    alerts = basb_monitoring.prometheus("/api/v1/alerts")
    received = basb_monitoring.alertmanager("/api/v2/alerts", active="true")
    basb_monitoring.judge(
        monitoring_stack.alert_path(
            basb_monitoring.subject,
            watchdog=basb_monitoring.config.watchdog,
            alertmanagers=alertmanagers.data,
            alertmanagers_error=alertmanagers.error,
            alerts=alerts.data,
            alerts_error=alerts.error,
            received=received.data if received else None,
            received_error=received.error if received else "no Alertmanager configured or reported by Prometheus",
            alertmanager_url=basb_monitoring.alertmanager_url,
        )
    )


@pytest.mark.basb_check("monitoring.gate_metrics")
def test_gate_metrics(basb_monitoring: MonitoringUnderTest) -> None:
    environment = basb_monitoring.environment_name
    answer = basb_monitoring.prometheus("/api/v1/query", query=monitoring_stack.gate_metrics_query(environment))
    basb_monitoring.judge(
        monitoring_stack.gate_metrics(
            basb_monitoring.subject,
            environment,
            answer.data,
            answer.error,
            now=basb_monitoring.now(),
            max_age_s=basb_monitoring.config.max_age_s,
        )
    )
