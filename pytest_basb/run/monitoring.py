"""The monitoring stack under test: the environment's `monitoring:` block, what its Prometheus and
Alertmanager answer (each API answer read once per process), and `judge` for its checks.

Environment-wide checks (monitoring.rules, .alerting, .gate_metrics) are recorded under the service
id `@<environment>` (ENVIRONMENT_WIDE_PREFIX): no inventory service is to blame, and the report
keeps them out of the per-service table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.report.gate import ENVIRONMENT_WIDE_PREFIX
from pytest_basb.run.state import BasbState

if TYPE_CHECKING:
    from pytest_basb.connection.prometheus_api import ApiAnswer
    from pytest_basb.inventory.load import Monitoring

NO_MONITORING = (
    "this environment has no `monitoring:` block; add `monitoring: {prometheus_url: ..., alertmanager_url: ...}` "
    "to it in the inventory to check its Prometheus and Alertmanager"
)


class MonitoringUnderTest:
    """The environment's Prometheus and Alertmanager for one test."""

    def __init__(self, state: BasbState, config: Monitoring, node: pytest.Item) -> None:
        self._state = state
        self.config = config
        self._node = node

    @classmethod
    def of(cls, state: BasbState, node: pytest.Item) -> MonitoringUnderTest:
        """The stack of the run's environment; skips the test when the environment declares none."""
        environment = state.environment
        if environment is None or environment.monitoring is None:
            pytest.skip(NO_MONITORING)
        return cls(state, environment.monitoring, node)

    @property
    def subject(self) -> str:
        """The service id environment-wide results carry: `@<environment>`."""
        environment = self._state.environment
        return ENVIRONMENT_WIDE_PREFIX + (environment.name if environment else "")

    @property
    def environment_name(self) -> str:
        environment = self._state.environment
        return environment.name if environment else ""

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def prometheus(self, path: str, **params: str) -> ApiAnswer:
        """GET Prometheus' `path` (e.g. /api/v1/targets), read once per process and run."""
        return self._get(self.config.prometheus_url, path, params)

    def alertmanager(self, path: str, **params: str) -> ApiAnswer | None:
        """GET the Alertmanager's `path`: the configured one, else the first Prometheus sends to
        (None when there is neither)."""
        base = self.alertmanager_url
        return None if base is None else self._get(base, path, params)

    @property
    def alertmanager_url(self) -> str | None:
        if self.config.alertmanager_url is not None:
            return self.config.alertmanager_url
        answer = self.prometheus("/api/v1/alertmanagers")
        data = answer.data if isinstance(answer.data, dict) else {}
        active = [a.get("url") for a in data.get("activeAlertmanagers") or () if isinstance(a, dict)]
        first = next((str(url) for url in active if url), None)
        # Prometheus reports the push endpoint (.../api/v2/alerts); the API is at its base.
        return first.split("/api/v", 1)[0] if first else None

    def judge(self, result: CheckResult) -> CheckResult:
        """Record `result` for the gate (see `ServiceUnderTest.judge`)."""
        from pytest_basb.run.harness import record_verdict

        return record_verdict(self._state, self._node, result)

    def _get(self, base: str, path: str, params: dict[str, str]) -> ApiAnswer:
        from pytest_basb.connection.prometheus_api import get_json

        key = base + path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        cache = self._state.monitoring_answers
        if key not in cache:
            cache[key] = get_json(base, path, timeout_s=self.config.timeout_s, params=params)
        answer: ApiAnswer = cache[key]
        return answer
