"""Monitoring suite: each service's metrics endpoint serves real Prometheus data.

These checks also carry `smoke`, so the CI gate `-m smoke` judges the gate's monitoring item.
"""

from __future__ import annotations

import pytest

from pytest_basb import ServiceUnderTest
from pytest_basb.checks import monitoring

pytestmark = [pytest.mark.monitoring, pytest.mark.smoke]


@pytest.mark.basb_check("monitoring.metrics")
def test_metrics_endpoint(basb_service: ServiceUnderTest) -> None:
    url = basb_service.endpoint.metrics_url
    status: int | None = None
    body: str | None = None
    error: str | None = None
    if url is not None:
        import httpx

        # Metrics served by the MCP server's own origin sit behind the same credentials.
        same_origin = httpx.URL(url).netloc == httpx.URL(basb_service.endpoint.url or "").netloc
        headers = dict(basb_service.endpoint.headers) if same_origin else {}
        try:
            response = httpx.get(url, headers=headers, timeout=basb_service.session.timeout_s)
            status, body = response.status_code, response.text
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
    basb_service.judge(
        monitoring.metrics_endpoint(
            basb_service.id, url, required=basb_service.config.metrics, status=status, body=body, error=error
        )
    )
