"""Drill faults on the containers target: `docker stop` / `pause` / `kill` a service's container, and the
runbook's recovery (`start` / `unpause` / `start`), through the Docker SDK the launcher already holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pytest_basb.targets.base import TargetError

if TYPE_CHECKING:
    from pytest_basb.targets.containers import ContainerLauncher

_STOP_GRACE_S = 10  # docker stop's own default: SIGTERM, then SIGKILL after this long


def _container(launcher: ContainerLauncher, service_id: str) -> Any:
    started = launcher.started.get(service_id)
    if started is None or started.container is None:
        raise TargetError(f"{service_id}: no running container of this run")
    return started.container.get_wrapped_container()


def inject(launcher: ContainerLauncher, service_id: str, mode: str) -> str:
    """The fault, as `docker stop|pause|kill`; returns the container's name."""
    container = _container(launcher, service_id)
    try:
        if mode == "stopped":
            container.stop(timeout=_STOP_GRACE_S)
        elif mode == "hung":
            container.pause()
        elif mode == "crashed":
            container.kill()
        else:
            raise ValueError(f"unknown drill mode {mode!r}")
    except TargetError:
        raise
    except Exception as exc:  # docker's APIError, requests' errors
        raise TargetError(f"{service_id}: docker could not inject {mode}: {exc}") from None
    return str(container.name)


def recover(launcher: ContainerLauncher, service_id: str, mode: str, port: int) -> str:
    """`docker unpause` a hung container, `docker start` a stopped or crashed one; returns its MCP URL
    (a restarted container may be published on another host port)."""
    container = _container(launcher, service_id)
    try:
        if mode == "hung":
            container.unpause()
        else:
            container.start()
        container.reload()
        binding = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]
    except Exception as exc:
        raise TargetError(f"{service_id}: docker could not recover from {mode}: {exc}") from None
    started = launcher.started[service_id]
    where = urlsplit(started.url)
    started.url = urlunsplit(where._replace(netloc=f"{where.hostname}:{binding['HostPort']}"))
    return started.url
