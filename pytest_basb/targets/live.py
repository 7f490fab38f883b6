"""The `live` target: reach every service exactly as the inventory says; start nothing."""

from __future__ import annotations

from pytest_basb.inventory.load import ServiceConfig
from pytest_basb.targets.base import Endpoint


def endpoint_for(service: ServiceConfig) -> Endpoint:
    """stdio services are spawned by the client per worker; HTTP ones are addressed by URL."""
    return Endpoint(
        service_id=service.id,
        transport=service.transport,
        command=service.command,
        env=dict(service.env),
        cwd=service.cwd,
        url=service.url,
        headers=dict(service.headers),
        health_url=service.health_url,
        metrics_url=service.metrics_url,
    )
