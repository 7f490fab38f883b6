"""The whole alert path as plain processes: a reference MCP service probed by basb-probe, scraped by
Prometheus with the shipped rules (shortened timings), Alertmanager with the shipped route, and the
webhook receiver. The Watchdog arrives while all is well; stopping the service makes BasbProbeFailing
arrive, with its service, severity and runbook."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.ops.probe_stack import alert_path_seconds
from tests.helpers import REPO


def test_a_stopped_service_pages_through_alertmanager_to_the_webhook_receiver(tmp_path: Path) -> None:
    _seconds, notification, watchdog = alert_path_seconds(tmp_path, "test")
    alert = notification["alert"]
    assert alert["labels"]["service"] == "distill"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["job"] == "basb-probe"
    assert (REPO / alert["annotations"]["runbook_url"]).is_file()
    assert notification["path"] == "/alertmanager"
    assert notification["payload"]["receiver"] == "basb-webhook"
    assert watchdog["alert"]["labels"]["severity"] == "none"
