"""Health suite: every service is up, speaks an allowed MCP version and answers liveness probes.

These checks also carry `smoke`, so the CI gate `-m smoke` covers accessibility in the same run.
"""

from __future__ import annotations

import time

import pytest

from pytest_basb import ServiceError, ServiceUnderTest, http_client
from pytest_basb.checks import health

pytestmark = [pytest.mark.health, pytest.mark.smoke]


@pytest.mark.basb_check("health.handshake")
def test_handshake(basb_service: ServiceUnderTest) -> None:
    hs = basb_service.session.handshake()
    basb_service.judge(health.handshake(basb_service.id, hs, budget_s=basb_service.session.timeout_s))


@pytest.mark.basb_check("health.protocol_version")
def test_protocol_version(basb_service: ServiceUnderTest) -> None:
    hs = basb_service.session.handshake()
    basb_service.judge(health.protocol_version(basb_service.id, hs, allowed=basb_service.config.protocol_versions))


@pytest.mark.basb_check("health.server_info")
def test_server_info(basb_service: ServiceUnderTest) -> None:
    hs = basb_service.session.handshake()
    basb_service.judge(health.server_info(basb_service.id, hs, basb_service.config.expect))


@pytest.mark.basb_check("health.liveness")
def test_liveness(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    latency = session.liveness()
    basb_service.judge(health.liveness(basb_service.id, era=session.handshake().era, latency_s=latency))


@pytest.mark.basb_check("health.capabilities")
def test_declared_capabilities(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    capabilities = session.handshake().capabilities
    listers = {"tools": session.tools, "resources": session.resources, "prompts": session.prompts}
    errors: dict[str, str] = {}
    for name in health.LISTABLE_CAPABILITIES:
        if name in capabilities:
            try:
                listers[name]()
            except ServiceError as exc:
                errors[name] = str(exc).splitlines()[0]
    basb_service.judge(health.declared_capabilities(basb_service.id, capabilities, errors))


@pytest.mark.basb_check("health.http_health")
def test_http_health(basb_service: ServiceUnderTest) -> None:
    url = basb_service.endpoint.health_url
    status: int | None = None
    error: str | None = None
    started = time.perf_counter()
    if url is not None:
        import httpx

        try:
            status = http_client().get(url, timeout=basb_service.session.timeout_s).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
    latency = time.perf_counter() - started
    basb_service.judge(health.http_health(basb_service.id, url, status=status, latency_s=latency, error=error))


@pytest.mark.basb_check("health.stdio_hygiene")
def test_stdio_hygiene(basb_service: ServiceUnderTest) -> None:
    session = basb_service.session
    if basb_service.config.transport == "stdio":
        session.handshake()
        session.liveness()  # one round trip more, so output printed after the handshake shows too
    basb_service.judge(
        health.stdio_hygiene(basb_service.id, basb_service.config.transport, session.transcript.anomalies)
    )
